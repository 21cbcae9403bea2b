package io.pgvigil.vacuum;

import static io.pgvigil.testing.TestMonitor.sample;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Severity;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAge;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAges;

/**
 * {@code vacuum_lag}, the freeze ages and the heap block counters on every supported major, each test
 * in databases of its own on the shared server, pgvigil connected as the pg_monitor role. Near
 * wraparound itself is {@link WraparoundTest} (Debian's PostgreSQL 15, which has pg_resetwal).
 */
class VacuumMatrixTest {

    /**
     * Visits a minute apart; {@link #nextRound} moves the clock past that. Real time flows between polls
     * too, so a shorter interval could bring a visit where a test wants none.
     */
    private static final String[] VISITS = {"pgvigil.indexes.interval", "1m"};

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void updatesOnATableWithAutovacuumDisabledOpenVacuumLagAndVacuumClearsIt(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("vaclag");
        try (Connection c = pg.connect("vaclag"); Statement st = c.createStatement()) {
            // Trigger 50 + 0.2 × 20,000 = 4,050 (the server's settings); 20,000 dead rows are 4.9 times that.
            st.execute("CREATE TABLE jobs (id int PRIMARY KEY, state text) WITH (autovacuum_enabled = false)");
            st.execute("INSERT INTO jobs SELECT g, 'new' FROM generate_series(1, 20000) g");
            // Its own settings: trigger 100 + 0.5 × 12,000 = 6,100, which 12,000 dead rows do not reach twice
            // (with the server's, 2,450, they would).
            st.execute("CREATE TABLE events (id int PRIMARY KEY, kind text) WITH (autovacuum_enabled = off,"
                    + " autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0.5)");
            st.execute("INSERT INTO events SELECT g, 'a' FROM generate_series(1, 12000) g");
            // Autovacuum off: an insert-triggered autovacuum between a visit and the reading of
            // pg_statio_user_tables would move the counters compared exactly below.
            st.execute("CREATE TABLE lookup (id int PRIMARY KEY, name text) WITH (autovacuum_enabled = false)");
            st.execute("INSERT INTO lookup SELECT g, 'n' || g FROM generate_series(1, 5000) g");
            st.execute("ANALYZE");
            st.execute("UPDATE jobs SET state = 'done'");
            st.execute("UPDATE events SET kind = 'b'");
        }
        awaitDead(pg, "jobs", 20000);
        awaitDead(pg, "events", 12000);
        try (TestMonitor m = TestMonitor.watching(pg, VISITS[0], VISITS[1],
                "pgvigil.databases.include", "vaclag")) {
            PollState first = m.poll();
            assertThat(first.collectors()).filteredOn(s -> s.collector().equals(DatabaseAgeCollector.KEY)
                    || s.collector().equals(ProgressVacuumCollector.KEY)).extracting(CollectorStatus::success)
                    .containsExactly(true, true);
            String subject = "vaclag.public.jobs";
            Finding f = m.finding("vacuum_lag", subject).orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isCloseTo(20000 / 4050.0, within(1e-9));
            assertThat(f.threshold()).isEqualTo(2.0);
            assertThat(f.message()).startsWith("table public.jobs in database vaclag has 20,000 dead rows, 4.9 times its"
                    + " autovacuum trigger of 4,050 (autovacuum_vacuum_threshold 50 + autovacuum_vacuum_scale_factor 0.2"
                    + " × 20000 rows), at the visit of ")
                    .contains("; last VACUUM: never, last autovacuum: never. Autovacuum is disabled on this table"
                            + " (autovacuum_enabled = false): run VACUUM (VERBOSE, ANALYZE) public.jobs now, and enable"
                            + " autovacuum on it again (ALTER TABLE public.jobs RESET (autovacuum_enabled))");
            Evaluation events = m.evaluation("vacuum_lag", "vaclag.public.events").orElseThrow();
            assertThat(events.severity()).as("its own trigger").isNull();
            assertThat(events.value()).isCloseTo(12000 / 6100.0, within(1e-9));
            assertThat(events.message()).contains("trigger of 6,100 (the table's autovacuum_vacuum_threshold 100 + the"
                    + " table's autovacuum_vacuum_scale_factor 0.5 × 12000 rows)");
            assertThat(m.evaluation("vacuum_lag", "vaclag.public.lookup")).as("no dead rows").isEmpty();
            assertThat(m.scrape()).contains(
                    "pgvigil_breach{check=\"vacuum_lag\",severity=\"warning\",subject=\"vaclag.public.jobs\"} 1.0\n",
                    "pgvigil_check_value{check=\"vacuum_lag\",subject=\"vaclag.public.jobs\"} " + f.value() + "\n",
                    "pgvigil_table_findings{check=\"vacuum_lag\",datname=\"vaclag\"} 1.0\n",
                    "pgvigil_database_dead_tuples{datname=\"vaclag\"} 32000.0\n",
                    "pgvigil_database_tables_over_autovacuum_trigger{datname=\"vaclag\"} 2.0\n",
                    "pgvigil_autovacuum_workers{datname=\"vaclag\"} 0.0\n")
                    .doesNotContain("subject=\"vaclag.public.events\"");

            // Heap blocks: a sequential scan of lookup between two visits adds exactly what pg_statio_user_tables
            // counts for it (lookup has no dead rows, so the scan prunes nothing that the check judges).
            long[] before = heapBlocks(pg);
            double hitBefore = sample(m.scrape(), "pgvigil_heap_blocks_hit_total{datname=\"vaclag\"}");
            double readBefore = sample(m.scrape(), "pgvigil_heap_blocks_read_total{datname=\"vaclag\"}");
            try (Connection c = pg.connect("vaclag"); Statement st = c.createStatement()) {
                st.execute("SELECT count(*) FROM lookup");
            }
            PgServer.await("the scan reaches the statistics", () -> heapBlocks(pg)[0] + heapBlocks(pg)[1]
                    > before[0] + before[1]);
            nextRound(m);
            long[] after = heapBlocks(pg);
            assertThat(sample(m.scrape(), "pgvigil_heap_blocks_hit_total{datname=\"vaclag\"}") - hitBefore)
                    .isEqualTo((double) (after[0] - before[0]));
            assertThat(sample(m.scrape(), "pgvigil_heap_blocks_read_total{datname=\"vaclag\"}") - readBefore)
                    .isEqualTo((double) (after[1] - before[1]));
            assertThat(after[0] + after[1] - before[0] - before[1]).isPositive();

            // Between visits the finding stays as it is.
            m.advance(Duration.ofSeconds(10)).poll();
            assertThat(m.finding("vacuum_lag", subject).orElseThrow().since()).isEqualTo(f.since());

            // What the message says to do works: VACUUM, and the next visit clears it.
            try (Connection c = pg.connect("vaclag"); Statement st = c.createStatement()) {
                st.execute("VACUUM jobs");
            }
            awaitDead(pg, "jobs", 0);
            nextRound(m);
            assertThat(m.finding("vacuum_lag", subject)).isEmpty();
            Table jobs = table(m.last(), "jobs");
            assertThat(jobs.deadRows()).isZero();
            assertThat(jobs.lastVacuumSeconds()).isNotNull();
            assertThat(jobs.lastAutovacuumSeconds()).isNull();
            assertThat(m.scrape()).contains("pgvigil_table_findings{check=\"vacuum_lag\",datname=\"vaclag\"} 0.0\n",
                    "pgvigil_database_dead_tuples{datname=\"vaclag\"} 12000.0\n",
                    "pgvigil_database_tables_over_autovacuum_trigger{datname=\"vaclag\"} 1.0\n")
                    .doesNotContain("subject=\"vaclag.public.jobs\"");
        } finally {
            pg.execute("DROP DATABASE IF EXISTS vaclag WITH (FORCE)");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aVacuumInProgressHoldsVacuumLagUntilTheNextVisitAfterIt(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("vacrun");
        try (Connection c = pg.connect("vacrun"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE queue (id int PRIMARY KEY, state text) WITH (autovacuum_enabled = false)");
            st.execute("INSERT INTO queue SELECT g, 'new' FROM generate_series(1, 20000) g");
            st.execute("ANALYZE queue");
            st.execute("UPDATE queue SET state = 'done'");
        }
        awaitDead(pg, "vacrun", "queue", 20000);
        ExecutorService background = Executors.newSingleThreadExecutor();
        try (TestMonitor m = TestMonitor.watching(pg, VISITS[0], VISITS[1], "pgvigil.databases.include", "vacrun");
                Connection vacuuming = pg.connect("vacrun"); Statement st = vacuuming.createStatement()) {
            // A VACUUM slowed down to a crawl (it sleeps after every page), so that it is still running at the poll.
            st.execute("SET vacuum_cost_delay = '100ms'");
            st.execute("SET vacuum_cost_limit = 1");
            long pid = pg.queryLong(vacuuming, "SELECT pg_backend_pid()");
            Future<?> vacuum = background.submit(() -> {
                st.execute("VACUUM queue");
                return null;
            });
            PgServer.await("the VACUUM shows in pg_stat_progress_vacuum", () -> stat(pg, "postgres",
                    "SELECT count(*) FROM pg_stat_progress_vacuum WHERE pid = " + pid) == 1);
            m.poll();
            String subject = "vacrun.public.queue";
            assertThat(m.evaluation("vacuum_lag", subject).orElseThrow().hold()).isTrue();
            assertThat(m.finding("vacuum_lag", subject)).isEmpty();
            assertThat(m.scrape()).contains("pgvigil_database_dead_tuples{datname=\"vacrun\"} 20000.0\n");

            // Cancelled, the VACUUM reports nothing: the rows are still dead at the next visit, which opens it.
            try (Connection admin = pg.connect("postgres"); Statement a = admin.createStatement()) {
                a.execute("SELECT pg_cancel_backend(" + pid + ")");
            }
            try {
                vacuum.get(30, TimeUnit.SECONDS);
                throw new AssertionError("the VACUUM finished instead of being cancelled");
            } catch (ExecutionException expected) {
                assertThat(expected.getCause()).isInstanceOf(SQLException.class);
            }
            PgServer.await("the VACUUM is gone", () -> stat(pg, "postgres",
                    "SELECT count(*) FROM pg_stat_progress_vacuum WHERE pid = " + pid) == 0);
            // The visit's dead rows were read before the VACUUM ended: still no verdict on them.
            m.advance(Duration.ofSeconds(10)).poll();
            assertThat(m.evaluation("vacuum_lag", subject).orElseThrow().hold()).isTrue();
            assertThat(m.finding("vacuum_lag", subject)).isEmpty();
            nextRound(m);
            Finding f = m.finding("vacuum_lag", subject).orElseThrow();
            assertThat(f.value()).isCloseTo(20000 / 4050.0, within(1e-9));
        } finally {
            background.shutdownNow();
            pg.execute("DROP DATABASE IF EXISTS vacrun WITH (FORCE)");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void xidWraparoundIsTheOlderAgeOver2To31AndATableCountsItsToastTable(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("ages");
        try (Connection c = pg.connect("ages"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE docs (id int PRIMARY KEY, body text)");
            st.execute("INSERT INTO docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 50) g");
            for (int i = 0; i < 5; i++) {
                st.execute("SELECT txid_current()"); // each in a transaction of its own: five xids go by
            }
            if (major >= 14) {
                // The table itself frozen now, its TOAST table not: the table's age is its TOAST table's.
                st.execute("VACUUM (FREEZE, PROCESS_TOAST false) docs");
            }
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.include", "ages")) {
            // The server's own numbers, read before and after the poll and kept when no xid went by meanwhile.
            long[] server = null;
            for (int attempt = 0; attempt < 20; attempt++) {
                long[] before = serverAges(pg);
                m.poll();
                long[] after = serverAges(pg);
                if (Arrays.equals(before, after)) {
                    server = after;
                    break;
                }
            }
            assertThat(server).as("a poll without any transaction ID assigned meanwhile").isNotNull();
            long xidAge = server[0];
            long mxidAge = server[1];
            Evaluation e = m.evaluation("xid_wraparound", "ages").orElseThrow();
            assertThat(e.value()).isEqualTo(Math.max(xidAge, mxidAge) / 2147483648.0);
            assertThat(e.severity()).isNull();
            assertThat(e.message()).startsWith(String.format(Locale.ROOT, "database ages: transaction ID age"
                    + " %,d (0.0%% of 2^31; below autovacuum_freeze_max_age 200,000,000); MultiXact ID age %,d (0.0%%"
                    + " of 2^31; below autovacuum_multixact_freeze_max_age 400,000,000). ", xidAge, mxidAge));
            DatabaseAges ages = m.last().snapshot().get(DatabaseAges.class).orElseThrow();
            assertThat(ages.databases()).extracting(DatabaseAge::datname).contains("ages", "postgres", "template0",
                    "template1");
            for (DatabaseAge db : ages.databases()) {
                assertThat(m.evaluation("xid_wraparound", db.datname()).orElseThrow().value())
                        .isEqualTo(Math.max(db.xidAge(), db.mxidAge()) / 2147483648.0);
            }
            assertThat(m.scrape()).contains(
                    "pg_database_datfrozenxid_age{datname=\"ages\"} " + (double) xidAge + "\n",
                    "pg_database_datminmxid_age{datname=\"ages\"} " + (double) mxidAge + "\n",
                    "pgvigil_check_value{check=\"xid_wraparound\",subject=\"ages\"} " + e.value() + "\n",
                    "pg_settings_autovacuum_freeze_max_age 2.0E8\n",
                    "pg_settings_autovacuum_multixact_freeze_max_age 4.0E8\n",
                    "pg_settings_autovacuum_max_workers 3.0\n");

            Table docs = table(m.last(), "docs");
            assertThat(docs.xidAge()).isEqualTo(server[2]);
            assertThat(docs.mxidAge()).isEqualTo(server[3]);
            if (major >= 14) {
                assertThat(server[2]).as("the TOAST table is older than the table").isGreaterThan(server[4]);
            }
        } finally {
            pg.execute("DROP DATABASE IF EXISTS ages WITH (FORCE)");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void anotherSessionsTemporaryTableHoldingTheDatabaseBackIsNamed(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("tempheld");
        try (Connection holder = pg.connect("tempheld"); Statement h = holder.createStatement()) {
            h.execute("CREATE TEMP TABLE scratch (id int)");
            h.execute("INSERT INTO scratch VALUES (1)");
            try (Connection c = pg.connect("tempheld"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE kept (id int)");
                for (int i = 0; i < 200; i++) {
                    st.execute("SELECT txid_current()");
                }
                // Freezes everything but the other session's temporary table, which VACUUM skips.
                st.execute("VACUUM (FREEZE)");
            }
            long tempAge = stat(pg, "tempheld", "SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'scratch'");
            assertThat(tempAge).isGreaterThanOrEqualTo(200);
            assertThat(stat(pg, "tempheld", "SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'tempheld'"))
                    .as("the temporary table holds the database's age").isGreaterThanOrEqualTo(tempAge);
            try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.include", "tempheld")) {
                m.poll();
                assertThat(table(m.last(), "kept").xidAge()).isLessThan(100);
                assertThat(m.last().snapshot().get(Relations.class).orElseThrow().databases().get("tempheld").current()
                        .tables()).extracting(Table::name).containsExactly("kept");
                String message = m.evaluation("xid_wraparound", "tempheld").orElseThrow().message();
                assertThat(message).contains("Oldest by transaction ID age at the visit of ",
                        ": another session's temporary table pg_temp_", ".scratch ",
                        ". Only the session that created pg_temp_", " can vacuum it")
                        .doesNotContain("public.kept", "Run VACUUM (FREEZE, VERBOSE) pg_temp");
            }
        } finally {
            pg.execute("DROP DATABASE IF EXISTS tempheld WITH (FORCE)");
        }
    }

    /**
     * age(datfrozenxid), mxid_age(datminmxid) of database ages; the greater age(relfrozenxid) and
     * mxid_age(relminmxid) of docs and its TOAST table; and age(relfrozenxid) of docs alone.
     */
    private static long[] serverAges(PgServer pg) {
        return new long[] {
            stat(pg, "ages", "SELECT age(datfrozenxid) FROM pg_database WHERE datname = 'ages'"),
            stat(pg, "ages", "SELECT mxid_age(datminmxid) FROM pg_database WHERE datname = 'ages'"),
            stat(pg, "ages", "SELECT greatest(age(c.relfrozenxid), age(t.relfrozenxid)) FROM pg_class c"
                    + " JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = 'docs'"),
            stat(pg, "ages", "SELECT greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid)) FROM pg_class c"
                    + " JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = 'docs'"),
            stat(pg, "ages", "SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'docs'")};
    }

    /** Heap blocks hit and read summed over the user tables of vaclag, as pg_statio_user_tables has them. */
    private static long[] heapBlocks(PgServer pg) {
        return new long[] {
            stat(pg, "vaclag", "SELECT sum(heap_blks_hit) FROM pg_statio_user_tables"),
            stat(pg, "vaclag", "SELECT sum(heap_blks_read) FROM pg_statio_user_tables")};
    }

    private static Table table(PollState state, String name) {
        return state.snapshot().get(Relations.class).orElseThrow().databases().values().stream()
                .flatMap(db -> db.current().tables().stream()).filter(t -> t.name().equals(name)).findFirst()
                .orElseThrow();
    }

    private static void awaitDead(PgServer pg, String table, long dead) {
        awaitDead(pg, "vaclag", table, dead);
    }

    private static void awaitDead(PgServer pg, String db, String table, long dead) {
        PgServer.await(table + " has " + dead + " dead rows in the statistics", () -> stat(pg, db,
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '" + table + "'") == dead);
    }

    /** Moves the monitor's clock past the visit interval, then polls: the next round runs. */
    private static PollState nextRound(TestMonitor m) {
        return m.advance(Duration.ofSeconds(61)).poll();
    }

    private static long stat(PgServer pg, String db, String sql) {
        try (Connection c = pg.connect(db)) {
            return pg.queryLong(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
