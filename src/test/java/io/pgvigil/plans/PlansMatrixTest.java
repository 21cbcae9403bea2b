package io.pgvigil.plans;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * Plans (issue 17) on every supported major, through the path each one takes (EXPLAIN GENERIC_PLAN on
 * 16+, PREPARE + force_generic_plan before): an application filters {@code orders} on a column no index
 * serves, {@code seq_scan_heavy} opens, the next visit round plans the database's top statements, and
 * the finding then names the statement with its filter and proposes the index, which once created
 * clears it. Planning executes nothing: the table's scan counters do not move while it is planned.
 */
class PlansMatrixTest {

    private static final String DB = "plans";
    private static final String SUBJECT = "plans.public.orders";
    private static final String LOOKUP = "SELECT id, total FROM orders WHERE customer_id = ?";

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aSeqScanStatementIsPlannedNamedWithItsFilterAndTheProposedIndexClearsTheFinding(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase(DB);
        try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric NOT NULL)");
            st.execute("INSERT INTO orders SELECT g, g % 2000, g / 100.0 FROM generate_series(1, 40000) g");
            st.execute("CREATE TABLE secrets (id int PRIMARY KEY, owner_id int NOT NULL)");
            st.execute("INSERT INTO secrets SELECT g, g % 2000 FROM generate_series(1, 40000) g");
            st.execute("GRANT SELECT ON orders TO " + PgServer.MONITOR_ROLE);
        }
        PgServer.await("the load reaches the statistics", () -> stat(pg,
                "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables") >= 80000);
        try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
            st.execute("ANALYZE orders");
            st.execute("ANALYZE secrets");
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.indexes.interval", "1s", "pgvigil.databases.include", DB,
                "pgvigil.plans.enabled", "true")) {
            m.poll();
            lookups(pg);
            nextRound(m);
            Finding opened = m.finding("seq_scan_heavy", SUBJECT).orElseThrow();
            assertThat(opened.message()).doesNotContain("generic plans");

            // The round that plans, with the application still running: the table's counters move by the
            // application's ten sequential scans, and by nothing that planning did.
            long[] before = counters(pg);
            lookups(pg);
            nextRound(m);
            Thread.sleep(1200); // statistics reach the views up to a second later: any scan the planning made would show
            assertThat(counters(pg)).as("seq_scan, idx_scan of orders: planning executes nothing")
                    .containsExactly(before[0] + 10, before[1]);
            Plans plans = m.last().snapshot().get(Plans.class).orElseThrow();
            Plan plan = plans.plans().stream().filter(p -> p.seqScansOf("public", "orders").size() == 1).findFirst()
                    .orElseThrow(() -> new AssertionError("no plan scans orders: " + plans + "; statements: "
                            + m.last().window().statements().stream().map(d -> d.statement().datname() + ":"
                                    + d.statement().text()).toList() + "; findings: " + m.last().open()));
            assertThat(plan.method()).isEqualTo(major >= 16 ? Planner.GENERIC : Planner.PREPARED);
            assertThat(plan.searchPath()).isEqualTo("\"postgres\", public");
            assertThat(plan.text()).contains("Seq Scan on public.orders").contains("Filter: (orders.customer_id = $1)");
            assertThat(plan.proposals()).singleElement().satisfies(p -> {
                assertThat(p.sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);");
                assertThat(p.verified()).isFalse();
                assertThat(p.how()).isEqualTo("not verified: the hypopg extension is not installed in this database");
            });

            lookups(pg);
            nextRound(m);
            Finding named = m.finding("seq_scan_heavy", SUBJECT).orElseThrow();
            assertThat(named.message()).contains("Statements whose generic plans read it sequentially: " + plan.queryid()
                    + " (filter (orders.customer_id = $1)). Proposed: CREATE INDEX CONCURRENTLY ON public.orders"
                    + " (customer_id); (not verified: the hypopg extension is not installed in this database)");
            assertThat(named.advice()).isNotNull();
            assertThat(named.advice().sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);");
            assertThat(named.since()).as("the same finding, not a new one").isEqualTo(opened.since());

            // A statement on a table the role cannot read: skipped, with the privilege named.
            try (Connection c = pg.connect(DB); PreparedStatement st = c.prepareStatement(
                    "SELECT id FROM secrets WHERE owner_id = ?")) {
                for (int i = 0; i < 10; i++) {
                    st.setInt(1, i);
                    st.executeQuery().close();
                }
            }
            lookups(pg);
            nextRound(m);
            nextRound(m);
            Plans after = m.last().snapshot().get(Plans.class).orElseThrow();
            // A fixed sentence, never the server's message (which a function the planner evaluated could fill).
            assertThat(after.failures()).anySatisfy(f -> assertThat(f.reason()).isEqualTo(Planner.PRIVILEGE));
            assertThat(after.problem()).isEqualTo(Planner.PRIVILEGE);
            assertThat(Planner.PRIVILEGE).isEqualTo("pgvigil's role cannot read a table this statement reads [SQLState"
                    + " 42501]: plans need SELECT on the application's tables (GRANT SELECT ... TO pgvigil), or"
                    + " pg_read_all_data on 14+");

            // The proposal, created: the lookups use it and the finding clears.
            try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
                st.execute(named.advice().sql());
            }
            lookups(pg);
            nextRound(m);
            lookups(pg);
            nextRound(m);
            assertThat(m.finding("seq_scan_heavy", SUBJECT)).isEmpty();
        } finally {
            pg.execute("DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        }
    }

    /**
     * A statement planned while it was fast (as one of the busiest) keeps its plan's shape; after its
     * index is dropped it regresses, is planned again, and query_regression says how the plan changed.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void droppingTheIndexAStatementUsesIsReportedAsAPlanChangeOnItsRegression(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase(DB);
        try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE events (id int PRIMARY KEY, account int NOT NULL, payload text NOT NULL)");
            st.execute("INSERT INTO events SELECT g, g % 50000, md5(g::text) FROM generate_series(1, 200000) g");
            st.execute("CREATE INDEX events_account ON events (account)");
            st.execute("ANALYZE events");
            st.execute("GRANT SELECT ON events TO " + PgServer.MONITOR_ROLE);
        }
        String sql = "SELECT id, payload FROM events WHERE account = ?";
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.indexes.interval", "1s", "pgvigil.databases.include", DB,
                "pgvigil.plans.enabled", "true", "pgvigil.checks.query-regression.min-mean", "1ms");
                Connection app = pg.connect(DB); PreparedStatement lookup = app.prepareStatement(sql)) {
            m.poll();
            for (int round = 0; round < 5; round++) {
                run(lookup, 10);
                nextRound(m);
            }
            Plan fast = m.last().snapshot().get(Plans.class).orElseThrow().plans().stream()
                    .filter(p -> p.shape().contains("events_account")).findFirst()
                    .orElseThrow(() -> new AssertionError("not planned while fast: " + m.last().snapshot().get(Plans.class)));
            assertThat(fast.previousShape()).isNull();
            assertThat(m.finding("query_regression", Long.toString(fast.queryid()))).isEmpty();

            try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
                st.execute("DROP INDEX events_account");
            }
            run(lookup, 10);
            nextRound(m);
            assertThat(m.finding("query_regression", Long.toString(fast.queryid()))).as("regressed").isPresent();
            run(lookup, 10);
            nextRound(m);
            Finding regression = m.finding("query_regression", Long.toString(fast.queryid())).orElseThrow();
            assertThat(regression.message()).contains(". Its generic plan in database " + DB + " changed (seen ")
                    .contains("): " + fast.shape() + " → Seq Scan on public.events");
        } finally {
            pg.execute("DROP DATABASE IF EXISTS " + DB + " WITH (FORCE)");
        }
    }

    private static void run(PreparedStatement st, int times) throws SQLException {
        for (int i = 0; i < times; i++) {
            st.setInt(1, i * 7);
            st.executeQuery().close();
        }
    }

    /** The application's lookups: ten, through a prepared statement as an ORM would send them. */
    private static void lookups(PgServer pg) throws SQLException {
        long before = counters(pg)[0] + counters(pg)[1];
        try (Connection c = pg.connect(DB); PreparedStatement st = c.prepareStatement(LOOKUP)) {
            for (int i = 0; i < 10; i++) {
                st.setInt(1, i);
                st.executeQuery().close();
            }
        }
        PgServer.await("the lookups reach the statistics", () -> {
            long[] now = counters(pg);
            return now[0] + now[1] >= before + 10;
        });
    }

    private static long[] counters(PgServer pg) {
        try (Connection c = pg.connect(DB); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT seq_scan, coalesce(idx_scan, 0) FROM pg_stat_user_tables"
                        + " WHERE relname = 'orders'")) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long stat(PgServer pg, String sql) {
        try (Connection c = pg.connect(DB)) {
            return pg.queryLong(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Past the visit interval (1 s here), then a poll: the next round runs. */
    private static void nextRound(TestMonitor m) {
        m.advance(Duration.ofMillis(1100)).poll();
    }
}
