package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Evaluation;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.core.Window;

/**
 * The faults of issue 8 that need a server of their own: crashes, a server with every slot taken,
 * and pg_stat_statements dropped, re-created, reset and evicting. The monitor is never restarted
 * within a test; each poll is one "interval".
 */
class FaultMatrixTest {

    private static final List<String> STATEMENT_CHECKS = io.pgvigil.core.Catalog.CHECKS.stream()
            .filter(s -> s.subject() == io.pgvigil.core.SubjectKind.STATEMENT).map(s -> s.id()).toList();

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void crashRestartsAreSurvivedWithoutFalseFindingsOrLeaks(int major) throws Exception {
        try (PgServer pg = PgServer.start(major); TestMonitor m = TestMonitor.watching(pg)) {
            pg.recreateDatabase("app");
            m.poll();
            workload(pg, 40);
            m.poll();
            workload(pg, 40);
            PollState steady = m.poll();
            assertThat(steady.window().statements()).as("statement deltas before the crash").isNotEmpty();
            int sessionBefore = steady.snapshot().server().backendPid();

            // 1. A backend dies of SIGKILL: the postmaster ends every session, pgvigil's too, and
            // reinitialises shared memory; statistics and pg_stat_statements start from zero.
            try (Connection victim = pg.connect("app")) {
                pg.killBackend((int) pg.queryLong(victim, "SELECT pg_backend_pid()"));
            }
            // The next poll finds its session gone and reconnects at once: up if recovery is already
            // over, down (in recovery, or refused) if not.
            PollState cut = m.poll();
            assertThat(m.scrape()).contains(cut.up() ? "pg_up 1.0\n" : "pg_up 0.0\n");
            if (cut.up()) {
                assertTruthful(cut);
            } else {
                assertThat(cut.error()).containsAnyOf("57P03", "recovery", "refused", "08001", "08006");
            }
            awaitAcceptingConnections(pg);
            workload(pg, 5);
            PollState back = m.poll();
            assertThat(back.up()).as("up within one poll of recovery: %s", back.error()).isTrue();
            assertThat(back.snapshot().server().backendPid()).isNotEqualTo(sessionBefore);
            assertTruthful(back);
            workload(pg, 5);
            assertTruthful(m.poll());

            // 2. pg_ctl stop -m immediate, then 200 failed polls: no thread, socket or session may pile up.
            pg.stopImmediately();
            PollState down = m.poll();
            assertThat(down.up()).isFalse();
            assertThat(m.scrape()).contains("pg_up 0.0\n");
            for (int i = 0; i < 20; i++) {
                m.poll(); // warm-up: helpers started lazily on the first failures appear once, not per poll
            }
            int threadsBefore = threads();
            long descriptorsBefore = openDescriptors();
            for (int i = 0; i < 200; i++) {
                assertThat(m.poll().up()).isFalse();
            }
            int threadsAfter = threads();
            long descriptorsAfter = openDescriptors();
            System.out.printf("PostgreSQL %d, 200 failed polls: threads %d -> %d, open file descriptors %d -> %d%n",
                    major, threadsBefore, threadsAfter, descriptorsBefore, descriptorsAfter);
            // A leak grows with the polls (200 here); the JVM's own pools may start or end a thread or two.
            assertThat(threadsAfter).isLessThanOrEqualTo(threadsBefore + 2);
            assertThat(descriptorsAfter).isLessThanOrEqualTo(descriptorsBefore + 2);
            assertThat(m.last().error()).contains("refused");

            pg.startServer(); // crash recovery
            workload(pg, 5);
            PollState recovered = m.poll();
            assertThat(recovered.up()).as("up within one poll of recovery: %s", recovered.error()).isTrue();
            assertTruthful(recovered);
            workload(pg, 5);
            assertTruthful(m.poll());
            assertThat(m.scrape()).contains("pg_up 1.0\n");
            try (Connection admin = pg.connect("postgres")) {
                PgServer.await("one pgvigil session", () -> pg.monitorSessions(admin) == 1);
            }
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sessionEndedByTheServerBetweenPollsIsNotReportedAsDown(int major) throws Exception {
        Assumptions.assumeTrue(major >= 14, "idle_session_timeout exists from PostgreSQL 14; on 13 the same"
                + " reconnect is covered by FailureMatrixTest.rotatedPasswordFileIsReadOnReconnect");
        PgServer pg = PgServer.shared(major);
        pg.execute("ALTER ROLE " + PgServer.MONITOR_ROLE + " SET idle_session_timeout = '300ms'");
        try (TestMonitor m = TestMonitor.watching(pg)) {
            int first = m.poll().snapshot().server().backendPid();
            for (int i = 0; i < 3; i++) {
                Thread.sleep(600); // longer than the timeout: the server ends the idle session each time
                PollState state = m.poll();
                assertThat(state.up()).as(String.valueOf(state.error())).isTrue();
                assertThat(state.snapshot().server().backendPid()).isNotEqualTo(first);
                first = state.snapshot().server().backendPid();
            }
            assertThat(m.last().failedPolls()).isZero();
            assertThat(m.scrape()).contains("pg_up 1.0\n", "pgvigil_polls_total{result=\"failure\"} 0.0\n");
        } finally {
            pg.execute("ALTER ROLE " + PgServer.MONITOR_ROLE + " RESET idle_session_timeout");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void hostileObjectsOnTheRolesSearchPathAreNeverUsed(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        // Someone able to create objects puts look-alikes first on pgvigil's search_path (CVE-2018-1058 style).
        pg.execute("DROP SCHEMA IF EXISTS hostile CASCADE", "CREATE SCHEMA hostile",
                "CREATE VIEW hostile.pg_stat_activity AS SELECT a.* FROM pg_catalog.pg_stat_activity a,"
                        + " generate_series(1, 50)",
                "CREATE FUNCTION hostile.pg_backend_pid() RETURNS int LANGUAGE sql AS 'SELECT 0'",
                "CREATE FUNCTION hostile.pg_is_in_recovery() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
                // A look-alike of the very function that pins the session, called before the pin holds.
                "CREATE FUNCTION hostile.set_config(text, text, boolean) RETURNS text LANGUAGE sql AS 'SELECT $2'",
                "GRANT USAGE ON SCHEMA hostile TO " + PgServer.MONITOR_ROLE,
                "GRANT SELECT ON hostile.pg_stat_activity TO " + PgServer.MONITOR_ROLE,
                "ALTER ROLE " + PgServer.MONITOR_ROLE + " SET search_path = hostile, pg_catalog");
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect("postgres")) {
            PollState state = m.poll();
            assertThat(state.up()).as(String.valueOf(state.error())).isTrue();
            assertThat(state.snapshot().server().backendPid()).isPositive();
            assertThat(state.snapshot().server().inRecovery()).isFalse();
            long clients = pg.queryLong(admin, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'");
            var activity = state.snapshot().get(io.pgvigil.activity.StatActivityCollector.Activity.class).orElseThrow();
            assertThat((long) activity.clientBackends()).as("read from pg_catalog.pg_stat_activity, not the look-alike")
                    .isBetween(clients - 2, clients + 2);
        } finally {
            pg.execute("ALTER ROLE " + PgServer.MONITOR_ROLE + " RESET search_path", "DROP SCHEMA hostile CASCADE");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void serverAtMaxConnectionsKeepsTheSessionAndReportsSaturation(int major) throws Exception {
        // 16+: two slots for roles with pg_use_reserved_connections, which pgvigil has (as in deploy/k8s).
        Map<String, String> config = major >= 16 ? Map.of("reserved_connections", "2") : Map.of();
        List<Connection> clients = new ArrayList<>();
        try (PgServer pg = PgServer.start(major, config); TestMonitor m = TestMonitor.watching(pg)) {
            pg.recreateDatabase("app");
            pg.execute("CREATE ROLE app LOGIN PASSWORD 'app-password-1'");
            if (major >= 16) {
                pg.execute("GRANT pg_use_reserved_connections TO " + PgServer.MONITOR_ROLE);
            }
            int session = m.poll().snapshot().server().backendPid();

            SQLException refused = null;
            while (refused == null) {
                try {
                    clients.add(java.sql.DriverManager.getConnection(pg.jdbcUrl("app"), "app", "app-password-1"));
                } catch (SQLException e) {
                    refused = e;
                }
            }
            assertThat(refused.getSQLState()).isEqualTo("53300");
            int usable = PgServer.MAX_CONNECTIONS - 3 - (major >= 16 ? 2 : 0);
            assertThat(clients).hasSize(usable - 1); // pgvigil holds the other one

            PollState full = m.poll();
            assertThat(full.up()).isTrue();
            assertThat(full.snapshot().server().backendPid()).as("the established session is kept").isEqualTo(session);
            Evaluation saturation = full.evaluations().get("pool_saturation").get(0);
            assertThat(saturation.value()).isEqualTo(1.0);
            assertThat(saturation.message()).contains(usable + " client connections use 100% of the " + usable
                    + " usable slots");
            assertThat(full.findings()).anySatisfy(f -> {
                assertThat(f.check()).isEqualTo("pool_saturation");
                assertThat(f.severity().label()).isEqualTo("critical");
            });
            assertThat(m.scrape()).contains("pgvigil_breach{check=\"pool_saturation\",severity=\"critical\",subject=\"server\"} 1.0");

            // The session is cut and a client takes its slot at once, as a pool would: on 16+ pgvigil
            // comes back through a reserved slot; before 16 there is none for it, and the poll says why
            // until a client leaves.
            pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgvigil'");
            try (Connection admin = pg.connect("postgres")) {
                PgServer.await("pgvigil's session ended", () -> pg.monitorSessions(admin) == 0);
            }
            // The ended backends (pgvigil's, the admin's) free their slots a moment after they leave
            // pg_stat_activity; until then the server refuses with "remaining connection slots are reserved".
            PgServer.await("a client takes the freed slot", () -> {
                try {
                    clients.add(java.sql.DriverManager.getConnection(pg.jdbcUrl("app"), "app", "app-password-1"));
                    return true;
                } catch (SQLException e) {
                    return false;
                }
            });
            // The poll finds its session ended and reconnects in the same poll.
            PollState reconnect = m.poll();
            if (major >= 16) {
                assertThat(reconnect.up()).as(String.valueOf(reconnect.error())).isTrue();
                assertThat(reconnect.evaluations().get("pool_saturation").get(0).value()).isGreaterThan(1.0);
            } else {
                assertThat(reconnect.up()).isFalse();
                assertThat(reconnect.error()).contains("53300");
                clients.remove(0).close();
                assertThat(m.poll().up()).isTrue();
            }
        } finally {
            for (Connection c : clients) {
                c.close();
            }
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void statementsDroppedRecreatedResetAndEvictedGiveNoFalseFindings(int major) throws Exception {
        // 100 is the smallest pg_stat_statements.max: distinct statements evict each other.
        try (PgServer pg = PgServer.start(major, Map.of("pg_stat_statements.max", "100"));
                TestMonitor m = TestMonitor.watching(pg)) {
            pg.recreateDatabase("app");
            m.poll();
            workload(pg, 30);
            assertTruthful(m.poll());
            workload(pg, 30);
            assertThat(m.poll().window().statements()).isNotEmpty();

            pg.execute("DROP EXTENSION pg_stat_statements");
            PollState dropped = m.poll();
            assertThat(dropped.collectors()).filteredOn(c -> c.collector().equals("pg_stat_statements"))
                    .singleElement().satisfies(c -> assertThat(c.enabled()).isFalse());
            assertThat(dropped.evaluations()).doesNotContainKeys(STATEMENT_CHECKS.toArray(String[]::new));
            assertThat(m.scrape()).doesNotContain("pg_stat_statements_calls_total");

            pg.execute("CREATE EXTENSION pg_stat_statements");
            workload(pg, 10);
            assertTruthful(m.poll());
            workload(pg, 10);
            assertTruthful(m.poll());

            pg.execute("SELECT pg_stat_statements_reset()");
            workload(pg, 3);
            PollState reset = m.poll();
            assertTruthful(reset);
            assertThat(reset.window().statementsHeld()).as("entries whose counters went back are held").isPositive();

            // Eviction: 300 distinct statements against a table of 100 entries, three rounds.
            for (int round = 0; round < 3; round++) {
                distinctStatements(pg, 300);
                workload(pg, 5);
                assertTruthful(m.poll());
            }
            String scrape = m.scrape();
            if (major >= 14) {
                double deallocations = value(scrape, "pg_stat_statements_deallocations_total");
                assertThat(deallocations).as("evictions are reported").isGreaterThan(0);
            } else {
                // PostgreSQL 13 (pg_stat_statements 1.8) has no pg_stat_statements_info: nothing to report.
                assertThat(scrape).doesNotContain("pg_stat_statements_deallocations_total");
            }
        }
    }

    /** No negative delta, no value below zero, no finding: what a reset or a crash must never produce. */
    private static void assertTruthful(PollState state) {
        assertThat(state.up()).as(String.valueOf(state.error())).isTrue();
        Window w = state.window();
        assertThat(w.databases().values()).allSatisfy(d -> assertThat(Stream.of(d.xactCommit(), d.xactRollback(),
                d.deadlocks(), d.tempFiles(), d.tempBytes(), d.blksHit(), d.blksRead())).allMatch(v -> v >= 0));
        assertThat(w.statements()).allSatisfy(s -> {
            assertThat(Stream.of(s.calls(), s.rows(), s.sharedBlksHit(), s.sharedBlksRead(), s.tempBlksWritten()))
                    .allMatch(v -> v >= 0);
            assertThat(s.execSeconds()).isGreaterThanOrEqualTo(0);
            assertThat(s.planSeconds()).isGreaterThanOrEqualTo(0);
        });
        state.evaluations().forEach((check, evaluations) -> assertThat(evaluations)
                .allSatisfy(e -> assertThat(e.value() == null || e.value() >= 0).as(check + " " + e).isTrue()));
        assertThat(state.findings()).as("findings after a reset or crash").isEmpty();
    }

    /** A few statements the workload repeats, in database app. */
    private static void workload(PgServer pg, int times) throws SQLException {
        try (Connection c = pg.connect("app"); Statement st = c.createStatement()) {
            for (int i = 0; i < times; i++) {
                st.execute("SELECT count(*) FROM pg_class WHERE relpages >= " + i);
                st.execute("SELECT " + i + " + 1");
            }
        }
    }

    /** {@code n} statements with different query ids: a growing select list. */
    private static void distinctStatements(PgServer pg, int n) throws SQLException {
        try (Connection c = pg.connect("app"); Statement st = c.createStatement()) {
            StringBuilder select = new StringBuilder("SELECT 1");
            for (int i = 0; i < n; i++) {
                select.append(", ").append(i);
                st.execute(select.toString());
            }
        }
    }

    private static void awaitAcceptingConnections(PgServer pg) {
        PgServer.await("the server accepts connections after crash recovery", () -> {
            try (Connection c = pg.connect("postgres")) {
                return true;
            } catch (SQLException e) {
                return false;
            }
        });
    }

    private static double value(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " ") || l.startsWith(series + "{")).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .orElseThrow(() -> new AssertionError("no " + series + " in the scrape"));
    }

    private static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
