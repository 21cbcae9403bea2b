package io.pgvigil.relations;

import static io.pgvigil.testing.TestMonitor.sample;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.Visit;
import io.pgvigil.core.PollState;

/**
 * Database visits and the index and table checks, on every supported major: each test creates its
 * own databases on the shared server and runs pgvigil (as the pg_monitor role) against them.
 */
class IndexesMatrixTest {

    /** Visits every second; tests wait a little longer than that between rounds. */
    private static final String[] FAST_VISITS = {"pgvigil.indexes.interval", "1s"};

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void visitsOnlyIncludedDatabasesAndReportsTheOnesItCannotEnter(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        for (String db : List.of("vis_a", "vis_b", "vis_skip", "vis_locked", "vis_full")) {
            pg.recreateDatabase(db);
        }
        pg.execute("REVOKE CONNECT ON DATABASE vis_locked FROM PUBLIC", "ALTER DATABASE vis_full CONNECTION LIMIT 0");
        try (Connection c = pg.connect("vis_a"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v int)");
            st.execute("CREATE INDEX t_v ON t (v)");
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.include", "vis_*",
                "pgvigil.databases.exclude", "vis_sk?p")) {
            PollState state = m.poll();
            assertThat(state.up()).isTrue();
            Relations relations = state.snapshot().get(Relations.class).orElseThrow();
            assertThat(relations.visits()).extracting(Visit::datname)
                    .containsExactly("vis_a", "vis_b", "vis_full", "vis_locked");
            Visit a = visit(relations, "vis_a");
            assertThat(a.success()).isTrue();
            assertThat(a.indexes()).isEqualTo(2);
            assertThat(a.tables()).isEqualTo(1);
            assertThat(visit(relations, "vis_b").success()).isTrue();
            Visit locked = visit(relations, "vis_locked");
            assertThat(locked.success()).isFalse();
            assertThat(locked.error()).contains("no CONNECT privilege on database vis_locked");
            Visit full = visit(relations, "vis_full");
            assertThat(full.success()).isFalse();
            assertThat(full.error()).contains("too many connections for database");
            assertThat(relations.databases()).containsOnlyKeys("vis_a", "vis_b");
            assertThat(relations.databases().get("vis_a").current().indexes())
                    .extracting(i -> i.name()).containsExactlyInAnyOrder("t_pkey", "t_v");

            // The visit session is closed again (its backend leaves pg_stat_activity a moment later):
            // only the main session remains.
            PgServer.await("only pgvigil's main session remains", () -> {
                try (Connection c = pg.connect("postgres")) {
                    return pg.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE usename = ?",
                            PgServer.MONITOR_ROLE) == 1;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(m.scrape()).contains(
                    "pgvigil_database_visit_success{datname=\"vis_a\"} 1.0\n",
                    "pgvigil_database_visit_success{datname=\"vis_locked\"} 0.0\n",
                    "pgvigil_database_visit_success{datname=\"vis_full\"} 0.0\n",
                    "pgvigil_database_indexes{datname=\"vis_a\"} 2.0\n",
                    "pgvigil_database_tables{datname=\"vis_a\"} 1.0\n")
                    .doesNotContain("pgvigil_database_visit_success{datname=\"vis_skip\"}");
        } finally {
            pg.execute("ALTER DATABASE vis_full CONNECTION LIMIT -1");
            for (String db : List.of("vis_a", "vis_b", "vis_skip", "vis_locked", "vis_full")) {
                pg.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
            }
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void seqScansOnAnUnindexedFilterOpenSeqScanHeavyAndTheIndexClearsIt(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("seqheavy");
        try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE events (id int PRIMARY KEY, user_id int, created_at timestamptz, payload text)");
            st.execute("INSERT INTO events SELECT g, g % 500, now() - g * interval '10 minutes', md5(g::text)"
                    + " FROM generate_series(1, 20000) g");
        }
        // The INSERT's counts reach the statistics up to a second later; an ANALYZE before them would be
        // followed by 20,000 "rows changed since the last ANALYZE", and the advice would rightly ask for another.
        PgServer.await("the load reaches the statistics", () -> stat(pg, "seqheavy",
                "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'events'") >= 20000);
        try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
            st.execute("ANALYZE events");
        }
        try (TestMonitor m = TestMonitor.watching(pg, FAST_VISITS[0], FAST_VISITS[1],
                "pgvigil.databases.include", "seqheavy")) {
            // Building the primary key scanned the (empty) table once; before PostgreSQL 15 that count
            // can arrive late, so wait for it to be in the baseline.
            PgServer.await("the setup's statistics arrive", () -> seqScans(pg) >= 1);
            m.poll();
            long before = seqScans(pg);
            recentEvents(pg, 10);
            PgServer.await("10 sequential scans reach the statistics", () -> seqScans(pg) >= before + 10);
            nextRound(m);
            String subject = "seqheavy.public.events";
            Finding f = m.finding("seq_scan_heavy", subject).orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isEqualTo(1.0);
            // n_live_tup is an estimate (ANALYZE and the INSERT both report it), so the count is not asserted.
            assertThat(f.message()).startsWith("table public.events in database seqheavy (")
                    .contains("10 sequential scans of 20000 rows each")
                    .contains("EXPLAIN (ANALYZE, BUFFERS)")
                    // Analyzed, with a primary key on id: the advice names it rather than claiming no index serves.
                    .contains("its indexes lead with (id) in events_pkey: if the query filters on one of those columns")
                    .doesNotContain("ANALYZE public.events").doesNotContain("no index serves");
            assertThat(m.scrape()).contains("pgvigil_table_findings{check=\"seq_scan_heavy\",datname=\"seqheavy\"} 1.0\n",
                    "pgvigil_breach{check=\"seq_scan_heavy\",severity=\"warning\",subject=\"seqheavy.public.events\"} 1.0\n");

            try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
                st.execute("CREATE INDEX events_created_at ON events (created_at)");
                st.execute("ANALYZE events");
            }
            long indexed = idxScans(pg);
            recentEvents(pg, 10);
            PgServer.await("10 index scans reach the statistics", () -> idxScans(pg) >= indexed + 10);
            nextRound(m);
            assertThat(m.finding("seq_scan_heavy", subject)).isEmpty();
            assertThat(m.scrape()).contains("pgvigil_table_findings{check=\"seq_scan_heavy\",datname=\"seqheavy\"} 0.0\n")
                    .doesNotContain("subject=\"seqheavy.public.events\"");
        } finally {
            pg.execute("DROP DATABASE IF EXISTS seqheavy WITH (FORCE)");
        }
    }

    /**
     * The issue's case: a table bulk-loaded and never analyzed, with the right index already there. The
     * advice must be to run ANALYZE, not to add an index, and the size must not read 0 kB; once
     * analyzed, the advice names the index; after many updates it asks for ANALYZE again.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void seqScansOnAnUnanalyzedTableWithTheRightIndexAskForAnalyzeNotForAnIndex(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("seqheavy");
        try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
            // The index exists before the load: CREATE INDEX on a filled table would set relpages and reltuples.
            st.execute("CREATE TABLE events (id int PRIMARY KEY, user_id int, created_at timestamptz, payload text)"
                    + " WITH (autovacuum_enabled = off)");
            st.execute("CREATE INDEX events_user_id ON events (user_id)");
            st.execute("INSERT INTO events SELECT g, g % 500, now() - g * interval '10 minutes', md5(g::text)"
                    + " FROM generate_series(1, 20000) g");
        }
        String subject = "seqheavy.public.events";
        try (TestMonitor m = TestMonitor.watching(pg, FAST_VISITS[0], FAST_VISITS[1],
                "pgvigil.databases.include", "seqheavy")) {
            PgServer.await("the load reaches the statistics", () -> stat(pg, "seqheavy",
                    "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'events'") == 20000);
            m.poll();
            String unanalyzed = seqScanRound(pg, m, subject);
            assertThat(unanalyzed).startsWith("table public.events in database seqheavy (20000 live rows, size not yet"
                    + " known: no VACUUM or ANALYZE yet) was read by 10 sequential scans of 20000 rows each")
                    .contains("it has no planner statistics yet (never analyzed), so the planner's estimates may be wrong"
                            + " and it may avoid an index that would serve (its indexes lead with (id) in events_pkey,"
                            + " (user_id) in events_user_id). Run ANALYZE public.events first")
                    .doesNotContain("no index serves").doesNotContain(" 0 kB");

            try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
                st.execute("ANALYZE events");
            }
            String analyzed = seqScanRound(pg, m, subject);
            assertThat(analyzed).containsPattern("\\(20000 live rows, [0-9.]+ MiB\\) was read")
                    .contains("its indexes lead with (id) in events_pkey, (user_id) in events_user_id: if the query"
                            + " filters on one of those columns, check with EXPLAIN why the planner does not use the index")
                    .doesNotContain("Run ANALYZE");

            try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
                st.execute("UPDATE events SET payload = upper(payload) WHERE id <= 8000");
            }
            PgServer.await("the updates reach the statistics", () -> stat(pg, "seqheavy",
                    "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'events'") >= 8000);
            assertThat(seqScanRound(pg, m, subject)).contains("8000 rows changed since its last ANALYZE (")
                    .contains("more than the 10% at which autoanalyze gathers them again by default")
                    .contains("Run ANALYZE public.events first");
        } finally {
            pg.execute("DROP DATABASE IF EXISTS seqheavy WITH (FORCE)");
        }
    }

    /** Ten sequential scans of the whole table, then the next visit round: the open finding's message. */
    private static String seqScanRound(PgServer pg, TestMonitor m, String subject) throws SQLException {
        long before = seqScans(pg);
        try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
            for (int i = 0; i < 10; i++) {
                st.execute("SELECT count(*) FROM events WHERE payload LIKE '%zz%'");
            }
        }
        PgServer.await("10 sequential scans reach the statistics", () -> seqScans(pg) >= before + 10);
        nextRound(m);
        return m.finding("seq_scan_heavy", subject).orElseThrow().message();
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void duplicateUnusedAndInvalidIndexes(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("idxcheck");
        try (Connection c = pg.connect("idxcheck"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id bigint PRIMARY KEY, ref text, user_id int, status text, code int)");
            st.execute("INSERT INTO orders SELECT g, 'r' || g, g % 100, 'new', g % 10 FROM generate_series(1, 2000) g");
            st.execute("CREATE UNIQUE INDEX orders_ref_key ON orders (ref)");
            st.execute("CREATE INDEX orders_user ON orders (user_id)");
            st.execute("CREATE INDEX orders_user_status ON orders (user_id, status)");
            try {
                st.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_code_uq ON orders (code)");
                throw new AssertionError("a unique index over duplicate codes was built");
            } catch (SQLException expected) {
                assertThat(expected.getSQLState()).isEqualTo("23505");
            }
            st.execute("ANALYZE orders");
        }
        try (TestMonitor m = TestMonitor.watching(pg, FAST_VISITS[0], FAST_VISITS[1],
                "pgvigil.databases.include", "idxcheck", "pgvigil.checks.unused-index.window", "3s")) {
            m.poll();
            Finding invalid = m.finding("invalid_index", "idxcheck.public.orders_code_uq").orElseThrow();
            assertThat(invalid.severity()).isEqualTo(Severity.WARNING);
            assertThat(invalid.message()).contains("DROP INDEX CONCURRENTLY public.orders_code_uq");
            Finding dup = m.finding("duplicate_index", "idxcheck.public.orders_user").orElseThrow();
            assertThat(dup.severity()).isEqualTo(Severity.INFO);
            assertThat(dup.message()).contains("orders_user_status (user_id, status) covers");
            assertThat(m.finding("duplicate_index", "idxcheck.public.orders_user_status")).isEmpty();
            assertThat(m.last().findings()).filteredOn(x -> x.check().equals("unused_index")).isEmpty();

            m.advance(java.time.Duration.ofMillis(3100)).poll();
            assertThat(m.last().findings()).filteredOn(x -> x.check().equals("unused_index"))
                    .extracting(Finding::subject)
                    .containsExactlyInAnyOrder("idxcheck.public.orders_user", "idxcheck.public.orders_user_status");
            Finding unused = m.finding("unused_index", "idxcheck.public.orders_user").orElseThrow();
            assertThat(unused.severity()).isEqualTo(Severity.INFO);
            assertThat(unused.threshold()).isEqualTo(3.0);
            assertThat(unused.message()).contains("has not been scanned for").contains("row writes")
                    .contains("one of its 5 indexes");
            assertThat(m.scrape()).contains(
                    "pgvigil_index_findings{check=\"duplicate_index\",datname=\"idxcheck\"} 1.0\n",
                    "pgvigil_index_findings{check=\"invalid_index\",datname=\"idxcheck\"} 1.0\n",
                    "pgvigil_index_findings{check=\"unused_index\",datname=\"idxcheck\"} 2.0\n",
                    "pgvigil_breach{check=\"invalid_index\",severity=\"warning\",subject=\"idxcheck.public.orders_code_uq\"} 1.0\n");

            // A scan of the wider index: it is used again, the unique index and primary key never count.
            try (Connection c = pg.connect("idxcheck"); Statement st = c.createStatement()) {
                st.execute("SET enable_seqscan = off");
                st.execute("SET enable_bitmapscan = off");
                st.execute("SET enable_sort = off");
                st.execute("SELECT user_id, status FROM orders WHERE user_id = 5 ORDER BY user_id, status");
            }
            PgServer.await("the scan reaches the statistics", () -> indexScans(pg, "orders_user_status") > 0);
            nextRound(m);
            assertThat(m.last().findings()).filteredOn(x -> x.check().equals("unused_index"))
                    .extracting(Finding::subject).doesNotContain("idxcheck.public.orders_user_status",
                            "idxcheck.public.orders_pkey", "idxcheck.public.orders_ref_key");

            try (Connection c = pg.connect("idxcheck"); Statement st = c.createStatement()) {
                st.execute("DROP INDEX orders_code_uq");
                st.execute("DROP INDEX orders_user");
            }
            nextRound(m);
            assertThat(m.finding("invalid_index", "idxcheck.public.orders_code_uq")).isEmpty();
            assertThat(m.finding("duplicate_index", "idxcheck.public.orders_user")).isEmpty();
        } finally {
            pg.execute("DROP DATABASE IF EXISTS idxcheck WITH (FORCE)");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void randomLookupsOverAnIndexLargerThanSharedBuffersOpenIndexHitRate(int major) throws Exception {
        try (PgServer pg = PgServer.start(major, Map.of("shared_buffers", "1MB"))) {
            loadItems(pg, "cold");
            // The setup's own index accesses (the INSERT's hundreds of thousands of hits) belong in the
            // baseline visit, not in the window judged: statistics reach the views a moment later
            // (before 15 through the collector, up to 500 ms), so wait until the index's counters settle.
            long[] blocks = {-1};
            PgServer.await("the index's block counters settle", () -> {
                long now = stat(pg, "cold", "SELECT idx_blks_hit + idx_blks_read FROM pg_statio_user_indexes"
                        + " WHERE indexrelname = 'items_pkey'");
                boolean settled = now == blocks[0];
                blocks[0] = now;
                try {
                    Thread.sleep(600);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return settled;
            });
            try (TestMonitor m = TestMonitor.watching(pg, FAST_VISITS[0], FAST_VISITS[1],
                    "pgvigil.databases.include", "cold")) {
                m.poll();
                itemLookups(pg, "cold", SPREAD);
                double hitBefore = sample(m.scrape(), "pgvigil_index_blocks_hit_total{datname=\"cold\"}");
                double readBefore = sample(m.scrape(), "pgvigil_index_blocks_read_total{datname=\"cold\"}");
                nextRound(m);
                Finding f = m.finding("index_hit_rate", "cold").orElseThrow();
                assertThat(f.severity()).isEqualTo(Severity.CRITICAL);
                assertThat(f.value()).isLessThan(0.95);
                assertThat(f.threshold()).isEqualTo(0.95);
                assertThat(f.message()).contains("of index block accesses in database cold were found in shared buffers")
                        .containsPattern("; the indexes read \\(6\\.[0-9] MiB\\) are larger than shared_buffers"
                                + " \\(1\\.0 MiB\\): they do not fit");
                assertThat(m.scrape()).contains("pgvigil_check_value{check=\"index_hit_rate\",subject=\"cold\"} " + f.value() + "\n",
                        "pgvigil_breach{check=\"index_hit_rate\",severity=\"critical\",subject=\"cold\"} 1.0\n");
                // The counters behind the ratio grew by exactly this window's blocks: PromQL gets the same ratio.
                double hit = sample(m.scrape(), "pgvigil_index_blocks_hit_total{datname=\"cold\"}") - hitBefore;
                double read = sample(m.scrape(), "pgvigil_index_blocks_read_total{datname=\"cold\"}") - readBefore;
                assertThat(read).isPositive();
                assertThat(hit / (hit + read)).isCloseTo(f.value(), org.assertj.core.data.Offset.offset(1e-12));

                // The same lookups on a hot, small range: everything is in shared buffers.
                itemLookups(pg, "cold", "(g % 20) + 1");
                nextRound(m);
                assertThat(m.finding("index_hit_rate", "cold")).isEmpty();
            }
        }
    }

    /**
     * The issue's case: a restart empties shared buffers, and the first lookups over an index that fits
     * (6.5 MiB against 32 MiB) miss them. The rate is low, but every miss was a first read: the cache is
     * warming, and no finding opens; the next round finds everything in the cache.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aCacheWarmingUpAfterARestartIsNotAnIndexHitRateFinding(int major) throws Exception {
        try (PgServer pg = PgServer.start(major, Map.of("shared_buffers", "32MB"))) {
            loadItems(pg, "warm");
            pg.stop();
            pg.startServer();
            try (TestMonitor m = TestMonitor.watching(pg, FAST_VISITS[0], FAST_VISITS[1],
                    "pgvigil.databases.include", "warm")) {
                m.poll();
                itemLookups(pg, "warm", SPREAD);
                nextRound(m);
                Evaluation cold = m.evaluation("index_hit_rate", "warm").orElseThrow();
                assertThat(cold.value()).as("as low as the cold test's, which does not fit").isLessThan(0.95);
                assertThat(cold.severity()).isNull();
                assertThat(cold.message()).containsPattern("; the indexes read \\(6\\.[0-9] MiB\\) fit in shared_buffers"
                        + " \\(32\\.0 MiB\\) and [0-9]+ blocks were read from outside in the last [0-9]+ s \\(the server started"
                        + " [0-9]+ s ago\\), no more than the [0-9]+ they hold: the cache is warming up, nothing to do");
                assertThat(m.finding("index_hit_rate", "warm")).isEmpty();

                itemLookups(pg, "warm", SPREAD);
                nextRound(m);
                assertThat(m.evaluation("index_hit_rate", "warm").orElseThrow().value()).as("warm now").isGreaterThan(0.99);
                assertThat(m.finding("index_hit_rate", "warm")).isEmpty();
            }
        }
    }

    /** Lookups spread over the whole primary key of items (a prime stride over its 300,000 ids). */
    private static final String SPREAD = "((g::bigint * 104729) % 300000)::int + 1";

    /** items: 300,000 rows with a primary key (6.4 MiB), vacuumed and analyzed, once its statistics have arrived. */
    private static void loadItems(PgServer pg, String db) throws SQLException {
        pg.recreateDatabase(db);
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE items (id int PRIMARY KEY, v int)");
            st.execute("INSERT INTO items SELECT g, g FROM generate_series(1, 300000) g");
            st.execute("VACUUM ANALYZE items");
        }
        PgServer.await("the setup's statistics arrive", () -> stat(pg, db,
                "SELECT n_tup_ins + vacuum_count + analyze_count FROM pg_stat_user_tables WHERE relname = 'items'")
                >= 300_002);
    }

    /** 5,000 index lookups of items by {@code id = <idExpression of g>}, returning once they reach the statistics. */
    private static void itemLookups(PgServer pg, String db, String idExpression) throws SQLException {
        long before = indexScans(pg, db, "items_pkey");
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            nestedLoopIndexLookups(st);
            st.execute("SELECT count(*) FROM generate_series(1, 5000) g, LATERAL (SELECT v FROM items WHERE id = "
                    + idExpression + ") x");
        }
        PgServer.await("5,000 lookups reach the statistics", () -> indexScans(pg, db, "items_pkey") >= before + 5000);
    }

    /** One index scan per outer row: no hash or merge join, no sequential or bitmap scan. */
    private static void nestedLoopIndexLookups(Statement st) throws SQLException {
        for (String setting : List.of("enable_seqscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin")) {
            st.execute("SET " + setting + " = off");
        }
    }

    private static Visit visit(Relations relations, String datname) {
        return relations.visits().stream().filter(v -> v.datname().equals(datname)).findFirst().orElseThrow();
    }

    /** Moves the monitor's clock past the visit interval (1 s here), then polls: the next round runs. */
    private static PollState nextRound(TestMonitor m) {
        return m.advance(java.time.Duration.ofMillis(1100)).poll();
    }

    private static void recentEvents(PgServer pg, int times) throws SQLException {
        try (Connection c = pg.connect("seqheavy"); Statement st = c.createStatement()) {
            for (int i = 0; i < times; i++) {
                st.execute("SELECT count(*) FROM events WHERE created_at > now() - interval '1 minute'");
            }
        }
    }

    private static long seqScans(PgServer pg) {
        return stat(pg, "seqheavy", "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'events'");
    }

    private static long idxScans(PgServer pg) {
        return stat(pg, "seqheavy", "SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'events'");
    }

    private static long indexScans(PgServer pg, String index) {
        return indexScans(pg, "idxcheck", index);
    }

    private static long indexScans(PgServer pg, String db, String index) {
        return stat(pg, db, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '" + index + "'");
    }

    private static long stat(PgServer pg, String db, String sql) {
        try (Connection c = pg.connect(db)) {
            return pg.queryLong(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
