package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.core.Window;

/**
 * pg_stat_statements checks against real servers of every supported major: real workloads (an N+1
 * loop over JDBC, pg_sleep, a dropped index, a sort over work_mem) and real resets.
 */
class StatementsMatrixTest {

    /** users(100) → posts(1000, 10 per user), projects(100) → tasks(300) → comments(600). */
    static void createShop(PgServer pg, String db) throws SQLException {
        pg.recreateDatabase(db);
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE users (id int PRIMARY KEY, name text)");
            st.execute("INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 100) g");
            st.execute("CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL, title text)");
            st.execute("INSERT INTO posts (user_id, title) SELECT g % 100 + 1, 'post ' || g FROM generate_series(1, 1000) g");
            st.execute("CREATE INDEX ON posts (user_id)");
            st.execute("CREATE TABLE projects (id int PRIMARY KEY, name text)");
            st.execute("INSERT INTO projects SELECT g, 'project ' || g FROM generate_series(1, 100) g");
            st.execute("CREATE TABLE tasks (id int PRIMARY KEY, project_id int NOT NULL)");
            st.execute("INSERT INTO tasks SELECT g, g % 100 + 1 FROM generate_series(1, 300) g");
            st.execute("CREATE INDEX ON tasks (project_id)");
            st.execute("CREATE TABLE comments (id int PRIMARY KEY, task_id int NOT NULL, body text)");
            st.execute("INSERT INTO comments SELECT g, g % 300 + 1, 'comment' FROM generate_series(1, 600) g");
            st.execute("CREATE INDEX ON comments (task_id)");
            st.execute("ANALYZE");
        }
    }

    /** The ORM way: list the users, then one query per user for their posts. */
    static void postsNPlusOne(Connection c) throws SQLException {
        for (int id : ids(c, "SELECT id FROM users ORDER BY id LIMIT 100")) {
            drain(c, "SELECT id, title FROM posts WHERE user_id = ?", id);
        }
    }

    /** Two levels: projects, then tasks per project, then comments per task. */
    static void nestedNPlusOne(Connection c) throws SQLException {
        for (int project : ids(c, "SELECT id FROM projects ORDER BY id")) {
            for (int task : ids(c, "SELECT id FROM tasks WHERE project_id = ?", project)) {
                drain(c, "SELECT id, body FROM comments WHERE task_id = ?", task);
            }
        }
    }

    /** Polls 15 s apart on the monitor's clock, the default interval. */
    static final java.time.Duration INTERVAL = java.time.Duration.ofSeconds(15);

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void nPlusOneIsFlaggedNamingParentAndChildWithItsAvoidableRoundTrips(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        createShop(pg, "shop");
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("shop")) {
            postsNPlusOne(c); // the statements exist before the baseline, on every version
            m.poll();
            // The loop before each of eight polls: matched from the second (two intervals to compare),
            // judged from the sixth (a window of six intervals), open once matched at the three polls
            // that judged it (the eighth; the window is 2 minutes, eight polls, at 15 s).
            for (int poll = 1; poll <= 8; poll++) {
                postsNPlusOne(c);
                m.advance(INTERVAL).poll();
                if (poll < 8) {
                    assertThat(m.last().findings()).as("poll %d", poll).filteredOn(f -> f.check().equals("n_plus_one")).isEmpty();
                    continue;
                }
                Finding f = only(m, "n_plus_one");
                assertThat(f.severity()).isEqualTo(Severity.WARNING);
                // The window is eight intervals of 15 s on the monitor's clock, plus the real time the loops took.
                assertThat(f.value()).as("avoidable round trips per second over the window")
                        .isBetween((800.0 - 8) / 126, (800.0 - 8) / 120);
                assertThat(f.subject()).isEqualTo(Long.toString(queryid(m, "shop", "SELECT id, title FROM posts WHERE user_id = $1")));
                assertThat(f.message()).contains("N+1 in database shop", "ran 800 times in the last 12",
                        "once per row of statement " + queryid(m, "shop", "SELECT id FROM users ORDER BY id LIMIT $1"),
                        "(800 rows in 8 call(s); 100.0 child calls per parent call)", "would have saved 792 round trips",
                        "Child: SELECT id, title FROM posts WHERE user_id = $1",
                        "Parent: SELECT id FROM users ORDER BY id LIMIT $1");
            }
            String child = Long.toString(queryid(m, "shop", "SELECT id, title FROM posts WHERE user_id = $1"));
            assertThat(m.scrape()).contains(
                    "pgvigil_breach{check=\"n_plus_one\",severity=\"warning\",subject=\"" + child + "\"} 1.0\n",
                    "pgvigil_check_value{check=\"n_plus_one\",subject=\"" + child + "\"} ",
                    "pgvigil_check_threshold{check=\"n_plus_one\",severity=\"critical\"} 50.0\n",
                    "pgvigil_check_threshold{check=\"n_plus_one\",severity=\"warning\"} 0.1\n");
            // An interval in which nothing runs: the window still holds the loops.
            m.advance(INTERVAL).poll();
            assertThat(only(m, "n_plus_one").message()).doesNotContain("last matched");
            // The child runs alone: the window holds the loops in both halves for two more polls, then
            // no longer a loop, but open until a whole window (eight polls) has passed since the last
            // match, then measured clean and cleared.
            int lastMatch = 0;
            for (int alone = 1; alone <= 12; alone++) {
                drain(c, "SELECT id, title FROM posts WHERE user_id = ?", 1);
                m.advance(INTERVAL).poll();
                if (alone < lastMatch + 8) {
                    if (!only(m, "n_plus_one").message().contains("last matched")) {
                        lastMatch = alone;
                    }
                } else {
                    assertThat(m.last().findings()).as("poll %d alone", alone).filteredOn(f -> f.check().equals("n_plus_one"))
                            .isEmpty();
                }
            }
            assertThat(lastMatch).as("last matched, polls alone").isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void theSameDataReadWithAJoinOrAnyIsNotFlagged(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        createShop(pg, "shop_ok");
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("shop_ok")) {
            m.poll();
            for (int i = 0; i < 4; i++) {
                drain(c, "SELECT u.id, p.id, p.title FROM users u JOIN posts p ON p.user_id = u.id WHERE u.id <= ?", 100);
                List<Integer> users = ids(c, "SELECT id FROM users ORDER BY id LIMIT 100");
                try (PreparedStatement st = c.prepareStatement("SELECT id, title FROM posts WHERE user_id = ANY(?)")) {
                    st.setArray(1, c.createArrayOf("int4", users.toArray()));
                    st.executeQuery().close();
                }
                m.advance(INTERVAL).poll();
                assertThat(m.last().findings()).filteredOn(f -> f.check().equals("n_plus_one")).isEmpty();
            }
            assertThat(m.last().window().statements()).as("the statements were measured").isNotEmpty();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void nestedNPlusOneIsFlaggedAtEachLevel(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        createShop(pg, "shop_nested");
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("shop_nested")) {
            nestedNPlusOne(c);
            m.poll();
            for (int poll = 1; poll <= 8; poll++) { // open once judged at three polls, from the sixth
                nestedNPlusOne(c);
                m.advance(INTERVAL).poll();
            }
            long projects = queryid(m, "shop_nested", "SELECT id FROM projects ORDER BY id");
            long tasks = queryid(m, "shop_nested", "SELECT id FROM tasks WHERE project_id = $1");
            long comments = queryid(m, "shop_nested", "SELECT id, body FROM comments WHERE task_id = $1");
            assertThat(m.last().findings()).filteredOn(f -> f.check().equals("n_plus_one"))
                    .extracting(Finding::subject).containsExactlyInAnyOrder(Long.toString(tasks), Long.toString(comments));
            assertThat(m.finding("n_plus_one", Long.toString(tasks)).orElseThrow().message())
                    .contains("ran 800 times", "once per row of statement " + projects, "(800 rows in 8 call(s)");
            assertThat(m.finding("n_plus_one", Long.toString(comments)).orElseThrow().message())
                    .contains("ran 2400 times", "once per row of statement " + tasks, "(2400 rows in 800 call(s)",
                            "would have saved 1600 round trips");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void pgSleepOpensSlowQueryWarningThenCritical(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("slow");
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("slow")) {
            drain(c, "SELECT pg_sleep(?)", 0.001);
            m.poll();
            drain(c, "SELECT pg_sleep(?)", 0.15);
            m.poll();
            long id = queryid(m, "SELECT pg_sleep($1)");
            Finding warning = m.finding("slow_query", Long.toString(id)).orElseThrow();
            assertThat(warning.severity()).isEqualTo(Severity.WARNING);
            assertThat(warning.value()).isBetween(0.15, 0.5);
            assertThat(warning.threshold()).isEqualTo(0.1);
            assertThat(warning.message()).contains("over 1 call(s)", "in database slow: SELECT pg_sleep($1)");

            drain(c, "SELECT pg_sleep(?)", 1.05);
            m.poll();
            assertThat(m.finding("slow_query", Long.toString(id)).orElseThrow().severity()).isEqualTo(Severity.CRITICAL);

            // Not run in the next intervals: no new measurement, the finding is held, not cleared...
            for (int i = 0; i < 20; i++) {
                m.poll();
                assertThat(m.finding("slow_query", Long.toString(id))).as("held, interval %d", i + 1).isPresent();
            }
            // ...for 20 intervals at most.
            m.poll();
            assertThat(m.finding("slow_query", Long.toString(id))).isEmpty();

            // Slow again, then fast again: cleared by the new measurement.
            drain(c, "SELECT pg_sleep(?)", 0.15);
            m.poll();
            assertThat(m.finding("slow_query", Long.toString(id))).isPresent();
            drain(c, "SELECT pg_sleep(?)", 0.001);
            m.poll();
            assertThat(m.finding("slow_query", Long.toString(id))).isEmpty();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void droppingTheIndexOpensQueryRegression(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("regress");
        try (Connection c = pg.connect("regress"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE items (id int PRIMARY KEY, sku text NOT NULL, payload text)");
            st.execute("INSERT INTO items SELECT g, 'sku-' || g, repeat('x', 100) FROM generate_series(1, 300000) g");
            st.execute("CREATE INDEX items_sku ON items (sku)");
            st.execute("ANALYZE items");
        }
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("regress")) {
            lookups(c, 20);
            m.poll();
            for (int i = 0; i < 3; i++) {
                lookups(c, 20); // three baseline windows, fast (index scan)
                m.poll();
            }
            assertThat(m.last().findings()).filteredOn(f -> f.check().equals("query_regression")).isEmpty();
            try (Statement st = c.createStatement()) {
                st.execute("DROP INDEX items_sku");
            }
            lookups(c, 10); // now a sequential scan of 300,000 rows each
            m.poll();
            long id = queryid(m, "SELECT id, payload FROM items WHERE sku = $1");
            Finding f = m.finding("query_regression", Long.toString(id)).orElseThrow();
            assertThat(f.value()).isGreaterThanOrEqualTo(3.0);
            assertThat(f.message()).contains("its baseline of", "(from 3 earlier intervals)", "in database regress");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sortOverWorkMemOpensTempSpill(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("spill");
        try (Connection c = pg.connect("spill"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE events (id int, payload text)");
            st.execute("INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.checks.temp-spill.warning", "1M");
                Connection c = pg.connect("spill")) {
            try (Statement st = c.createStatement()) {
                st.execute("SET work_mem = '64kB'");
            }
            drain(c, "SELECT id FROM events ORDER BY payload");
            m.poll();
            drain(c, "SELECT id FROM events ORDER BY payload");
            m.poll();
            long id = queryid(m, "SELECT id FROM events ORDER BY payload");
            Finding f = m.finding("temp_spill", Long.toString(id)).orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isGreaterThan(1024 * 1024.0);
            assertThat(f.message()).contains("MiB of temporary files over 1 call(s)", "work_mem");
            assertThat(m.scrape()).contains("pgvigil_check_threshold{check=\"temp_spill\",severity=\"warning\"} 1048576.0\n");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void resetDuringARunGivesNoNegativeValueAndNoFalseFinding(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        createShop(pg, "shop_reset");
        try (TestMonitor m = TestMonitor.watching(pg); Connection c = pg.connect("shop_reset")) {
            for (int i = 0; i < 3; i++) {
                drain(c, "SELECT id, title FROM posts WHERE user_id = ?", 1);
            }
            m.poll();
            pg.execute("SELECT pg_stat_statements_reset()");
            drain(c, "SELECT id, title FROM posts WHERE user_id = ?", 1);
            m.poll();
            Window w = m.last().window();
            assertThat(w.statements()).allSatisfy(d -> {
                assertThat(d.calls()).isPositive();
                assertThat(d.execSeconds()).isNotNegative();
                assertThat(d.rows()).isNotNegative();
            });
            assertThat(w.statementsHeld()).isPositive();
            assertThat(m.last().findings()).isEmpty();
            // The run goes on measuring after the reset.
            drain(c, "SELECT id, title FROM posts WHERE user_id = ?", 1);
            m.poll();
            assertThat(m.last().window().statements()).anySatisfy(d -> assertThat(d.calls()).isEqualTo(1));
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void steadyStateReadsNoQueryTextAndTextsAreRedacted(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.execute("DROP ROLE IF EXISTS app_rotated", "CREATE ROLE app_rotated");
        try (TestMonitor m = TestMonitor.watching(pg)) {
            pg.execute("ALTER ROLE app_rotated PASSWORD 'hunter2-topsecret'");
            m.poll();
            m.poll();
            long fetches = m.last().snapshot().get(Statements.class).orElseThrow().textFetches();
            for (int i = 0; i < 5; i++) {
                m.poll();
            }
            Statements s = m.last().snapshot().get(Statements.class).orElseThrow();
            assertThat(s.textFetches()).as("no text read while no new statement appears").isEqualTo(fetches);
            assertThat(s.texts().values()).filteredOn(t -> t != null && t.startsWith("ALTER ROLE app_rotated"))
                    .isNotEmpty().allSatisfy(t -> assertThat(t).doesNotContain("hunter2"));
            assertThat(m.scrape()).doesNotContain("hunter2");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void entriesCarryDatabaseAndRoleNamesLookedUpOnlyWhenNew(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("named");
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect("postgres")) {
            try (Connection c = pg.connect("named")) {
                drain(c, "SELECT count(*) FROM pg_class WHERE relname = ?", "named-probe");
            }
            m.poll();
            long id = queryid(m, "SELECT count(*) FROM pg_class WHERE relname = $1");
            assertThat(m.last().snapshot().get(Statements.class).orElseThrow().entries())
                    .filteredOn(e -> e.queryid() == id && "named".equals(e.datname()))
                    .singleElement().satisfies(e -> assertThat(e.user()).isEqualTo("postgres"));

            // Entries of a dropped database stay in pg_stat_statements; their names are not looked up every poll.
            pg.execute("DROP DATABASE named WITH (FORCE)");
            m.poll();
            long before = nameLookups(pg, admin);
            for (int i = 0; i < 5; i++) {
                m.poll();
            }
            assertThat(nameLookups(pg, admin)).isEqualTo(before);
        }
    }

    private static long nameLookups(PgServer pg, Connection admin) throws SQLException {
        return pg.queryLong(admin, """
                SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                 WHERE r.rolname = 'pgvigil' AND s.query LIKE '%AS kind, oid::int8 AS oid, datname::text AS name%'""");
    }

    // --- workload helpers -------------------------------------------------------------------

    private static void lookups(Connection c, int n) throws SQLException {
        for (int i = 0; i < n; i++) {
            drain(c, "SELECT id, payload FROM items WHERE sku = ?", "sku-" + (i * 7919 % 300000 + 1));
        }
    }

    /** Runs a query and returns the first column of every row as ints. */
    static List<Integer> ids(Connection c, String sql, Object... args) throws SQLException {
        List<Integer> ids = new ArrayList<>();
        query(c, sql, args, rs -> ids.add(rs.getInt(1)));
        return ids;
    }

    /** Runs a query and reads every row. */
    static void drain(Connection c, String sql, Object... args) throws SQLException {
        query(c, sql, args, rs -> rs.getObject(1));
    }

    private interface RowReader {
        void read(ResultSet rs) throws SQLException;
    }

    private static void query(Connection c, String sql, Object[] args, RowReader reader) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                st.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    reader.read(rs);
                }
            }
        }
    }

    /** The queryid pg_stat_statements gave a normalized text, as pgvigil cached it. */
    static long queryid(TestMonitor m, String text) {
        Statements s = m.last().snapshot().get(Statements.class).orElseThrow();
        return s.texts().entrySet().stream().filter(e -> text.equals(e.getValue())).map(java.util.Map.Entry::getKey)
                .findFirst().orElseThrow(() -> new AssertionError("no statement " + text + " in " + s.texts().values()));
    }

    /** The queryid of {@code text} in {@code database} (a dropped database of the same name keeps its entries). */
    static long queryid(TestMonitor m, String database, String text) {
        Statements s = m.last().snapshot().get(Statements.class).orElseThrow();
        List<Long> ids = s.entries().stream().filter(e -> database.equals(e.datname()) && text.equals(e.text()))
                .map(StatStatementsCollector.Statement::queryid).distinct().toList();
        assertThat(ids).as("queryids of %s in %s", text, database).hasSize(1);
        return ids.get(0);
    }

    private static Finding only(TestMonitor m, String check) {
        List<Finding> found = m.last().findings().stream().filter(f -> f.check().equals(check)).toList();
        assertThat(found).as(check + " findings").hasSize(1);
        return found.get(0);
    }
}
