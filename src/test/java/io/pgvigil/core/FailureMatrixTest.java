package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.Session;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.TestMonitor;

/** What the poll does when things go wrong, on real servers of every supported major. */
class FailureMatrixTest {

    /** A collector running one real query, for failures the built-in collectors do not produce on demand. */
    record QueryCollector(String key, String sql, String requiredExtension) implements Collector<Long> {
        @Override
        public Class<Long> resultType() {
            return Long.class;
        }

        @Override
        public Optional<String> unavailable(ServerInfo server) {
            return requiredExtension == null ? Optional.empty() : Collector.requireExtension(server, requiredExtension);
        }

        @Override
        public Long collect(Connection connection, ServerInfo server) throws SQLException {
            try (PreparedStatement st = connection.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * The collectors that run on a primary of this major: every one but the WAL receiver's (a
     * standby's), pg_stat_wal before 14 and pg_stat_io before 16.
     */
    static int primaryCollectors(int major) {
        return io.pgvigil.core.Catalog.collectors(TestConfig.of(java.util.Map.of())).size() - 1
                - (major < 14 ? 1 : 0) - (major < 16 ? 1 : 0);
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void failingCollectorIsReportedAndOthersCarryOn(int major) {
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = new TestMonitor(TestConfig.forServer(pg),
                new QueryCollector("broken", "SELECT count(*) FROM pg_catalog.pg_no_such_view", null))) {
            PollState state = m.poll();
            assertThat(state.up()).isTrue();
            CollectorStatus broken = status(state, "broken");
            assertThat(broken.success()).isFalse();
            assertThat(broken.error()).contains("pg_no_such_view", "42P01");
            assertThat(state.collectors()).filteredOn(c -> !c.collector().equals("broken") && c.enabled())
                    .hasSize(primaryCollectors(major)).allSatisfy(c -> assertThat(c.success()).isTrue());
            assertThat(state.evaluations()).containsKeys("pool_saturation", "long_transaction", "rollback_rate");
            assertThat(m.scrape()).contains("pgvigil_collector_success{collector=\"broken\"} 0.0\n",
                    "pgvigil_collector_success{collector=\"pg_stat_activity\"} 1.0\n", "pg_up 1.0\n");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void statementTimeoutFailsOnlyThatCollector(int major) {
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = new TestMonitor(TestConfig.forServer(pg, "pgvigil.target.statement-timeout", "300ms"),
                new QueryCollector("slow", "SELECT count(*) FROM pg_sleep(5)", null))) {
            PollState state = m.poll();
            assertThat(state.durationSeconds()).isLessThan(3.0);
            assertThat(status(state, "slow").error()).contains("57014");
            assertThat(state.collectors()).filteredOn(c -> !c.collector().equals("slow") && c.enabled())
                    .allSatisfy(c -> assertThat(c.success()).isTrue());
            // The session survives the cancelled statement: the next poll uses it again.
            PollState next = m.poll();
            assertThat(next.up()).isTrue();
            assertThat(next.snapshot().server().backendPid()).isEqualTo(state.snapshot().server().backendPid());
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void statementsCollectorIsOffWithoutTheExtensionAndSaysWhy(int major) {
        PgServer pg = PgServer.shared(major);
        pg.execute("DROP EXTENSION IF EXISTS pg_stat_statements");
        try (TestMonitor m = TestMonitor.watching(pg)) {
            PollState off = m.poll();
            CollectorStatus status = status(off, "pg_stat_statements");
            assertThat(status.enabled()).isFalse();
            assertThat(status.reason()).isEqualTo("extension pg_stat_statements is not installed in the connected database");
            assertThat(off.collectors()).filteredOn(CollectorStatus::enabled).hasSize(primaryCollectors(major) - 1)
                    .allSatisfy(c -> assertThat(c.success()).isTrue());
            assertThat(off.evaluations()).containsKeys("pool_saturation", "rollback_rate", "long_transaction")
                    .doesNotContainKeys("slow_query", "n_plus_one", "query_regression", "temp_spill");
            assertThat(m.scrape()).contains("pgvigil_collector_enabled{collector=\"pg_stat_statements\"} 0.0\n", "pg_up 1.0\n")
                    .doesNotContain("pgvigil_collector_success{collector=\"pg_stat_statements\"}", "pg_stat_statements_entries");

            pg.execute("CREATE EXTENSION pg_stat_statements");
            PollState on = m.poll();
            assertThat(status(on, "pg_stat_statements").enabled()).isTrue();
            assertThat(status(on, "pg_stat_statements").success()).isTrue();
            assertThat(on.evaluations()).containsKeys("slow_query", "n_plus_one", "query_regression", "temp_spill");
            assertThat(m.scrape()).contains("pgvigil_collector_enabled{collector=\"pg_stat_statements\"} 1.0\n");
        } finally {
            pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void statementsCollectorIsOffWhenNotPreloaded(int major) {
        try (PgServer pg = PgServer.start(major, java.util.Map.of("shared_preload_libraries", ""));
                TestMonitor m = TestMonitor.watching(pg)) {
            PollState state = m.poll();
            assertThat(state.up()).isTrue();
            assertThat(status(state, "pg_stat_statements").reason())
                    .isEqualTo("pg_stat_statements is not in shared_preload_libraries");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sessionIsReadOnlyNamedAndTimeBounded(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.statement-timeout", "4s",
                "pgvigil.target.lock-timeout", "750ms"); Session session = m.connector.open()) {
            Connection c = session.connection();
            assertThat(show(c, "transaction_read_only")).isEqualTo("on");
            assertThat(show(c, "statement_timeout")).isEqualTo("4s");
            assertThat(show(c, "lock_timeout")).isEqualTo("750ms");
            assertThat(show(c, "application_name")).isEqualTo("pgvigil");
            assertThat(show(c, "search_path")).isEqualTo("pg_catalog, pg_temp");
            assertThat(show(c, "jit")).isEqualTo("off");
            c.rollback();
            assertThatThrownBy(() -> c.createStatement().execute("CREATE TABLE pgvigil_must_not_write (id int)"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("read-only");
            c.rollback();
            assertThat(pg.queryLong(c, "SELECT count(*) FROM pg_roles WHERE rolname = current_user AND NOT rolsuper"))
                    .as("pgvigil runs as a non-superuser pg_monitor role").isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void neverHoldsMoreThanMaxConnections(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect("postgres")) {
            for (int i = 0; i < 5; i++) {
                m.poll();
            }
            assertThat(pg.monitorSessions(admin)).isEqualTo(1);
            assertThatThrownBy(m.connector::open).isInstanceOf(SQLException.class)
                    .hasMessageContaining("pgvigil.target.max-connections");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void targetRestartIsSurvivedWithoutFalseFindings(int major) throws Exception {
        try (PgServer pg = PgServer.start(major); TestMonitor m = TestMonitor.watching(pg)) {
            pg.recreateDatabase("app");
            m.poll();
            CoreChecksMatrixTest.transactions(pg, "app", 30, 0);
            m.poll();
            double startedAt = m.last().snapshot().server().startTimeSeconds();

            pg.stop();
            PollState down = m.poll();
            assertThat(down.up()).isFalse();
            assertThat(down.error()).isNotBlank();
            assertThat(down.collectors()).allSatisfy(c -> assertThat(c.success()).isFalse());
            assertThat(m.scrape()).contains("pg_up 0.0\n", "pgvigil_polls_total{result=\"failure\"} 1.0\n")
                    .doesNotContain("pg_connections{", "pg_stat_database_xact_commit_total{");

            pg.startServer();
            // Counters start again from zero; a little activity after the restart must not look negative.
            CoreChecksMatrixTest.transactions(pg, "app", 0, 25);
            PollState up = m.poll();
            assertThat(up.up()).isTrue();
            assertThat(up.snapshot().server().startTimeSeconds()).isNotEqualTo(startedAt);
            assertThat(up.window().databases()).isEmpty();
            assertThat(up.window().held()).contains("app");
            assertThat(up.findings()).isEmpty();
            assertThat(m.scrape()).contains("pg_up 1.0\n");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void targetDownAtStartThenUpWithoutLeakingThreadsOrConnections(int major) throws Exception {
        try (PgServer pg = PgServer.notStarted(major); TestMonitor m = TestMonitor.watching(pg)) {
            // Warm-up: lazily started helpers (pgjdbc's cleaner thread, say) appear once, not per poll.
            for (int i = 0; i < 50; i++) {
                assertThat(m.poll().up()).isFalse();
            }
            java.util.Set<String> threadsBefore = threadNames();
            for (int i = 0; i < 200; i++) {
                m.poll();
            }
            PollState down = m.last();
            assertThat(down.failedPolls()).isEqualTo(250);
            assertThat(down.error()).contains("refused");
            // A leak grows with the polls (200 here); the JVM's own pools may add or drop a thread or two meanwhile.
            java.util.Set<String> threadsAfter = threadNames();
            assertThat(threadsAfter.size()).as("threads before %s, after %s", threadsBefore, threadsAfter)
                    .isLessThanOrEqualTo(threadsBefore.size() + 2);

            pg.startServer();
            m.poll();
            m.poll();
            assertThat(m.last().up()).isTrue();
            try (Connection admin = pg.connect("postgres")) {
                assertThat(pg.monitorSessions(admin)).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void rotatedPasswordFileIsReadOnReconnect(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        Path file = Files.createTempFile("pgvigil-password", "");
        Files.writeString(file, PgServer.MONITOR_PASSWORD + "\n");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.password-file", file.toString())) {
            assertThat(m.poll().up()).isTrue();

            // The Secret is rotated: new password in the role and in the file; the old session is cut.
            pg.execute("ALTER ROLE pgvigil PASSWORD 'rotated-secret-2'");
            Files.writeString(file, "rotated-secret-2\n");
            endMonitorSession(pg);
            // The poll finds its session ended and reconnects at once, with the password now in the file.
            PollState reconnected = m.poll();
            assertThat(reconnected.up()).as(String.valueOf(reconnected.error())).isTrue();
            assertThat(reconnected.failedPolls()).isZero();

            // A wrong password is reported as such, without the password.
            pg.execute("ALTER ROLE pgvigil PASSWORD 'rotated-secret-3'");
            endMonitorSession(pg);
            PollState refused = m.poll();
            assertThat(refused.up()).isFalse();
            assertThat(refused.error()).contains("password authentication failed", "28P01")
                    .doesNotContain("rotated-secret");
        } finally {
            pg.execute("ALTER ROLE pgvigil PASSWORD '" + PgServer.MONITOR_PASSWORD + "'");
            Files.deleteIfExists(file);
        }
    }

    private static java.util.Set<String> threadNames() {
        java.util.Set<String> names = new java.util.TreeSet<>();
        for (var info : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
            names.add(info.getThreadName() + "#" + info.getThreadId());
        }
        return names;
    }

    private static CollectorStatus status(PollState state, String collector) {
        return state.collectors().stream().filter(c -> c.collector().equals(collector)).findFirst().orElseThrow();
    }

    private static String show(Connection c, String setting) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Ends pgvigil's session and waits until it is gone (pg_terminate_backend only sends the signal). */
    private static void endMonitorSession(PgServer pg) throws Exception {
        pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgvigil'");
        try (java.sql.Connection admin = pg.connect("postgres")) {
            PgServer.await("pgvigil's session ended", () -> pg.monitorSessions(admin) == 0);
        }
    }
}
