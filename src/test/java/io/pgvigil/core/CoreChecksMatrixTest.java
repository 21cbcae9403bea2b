package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * The checks of the core issue against real servers of every supported major: each test creates the
 * real condition (connections, a rollback storm, a session idle in transaction) and asserts the
 * exact finding, value and metric lines.
 */
class CoreChecksMatrixTest {

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void idleServerIsUpWithNoFindingAndItsVersion(int major) {
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = TestMonitor.watching(pg)) {
            m.poll();
            PollState state = m.poll();
            assertThat(state.up()).isTrue();
            assertThat(state.snapshot().server().major()).isEqualTo(major);
            assertThat(state.snapshot().server().role()).isEqualTo("primary");
            assertThat(state.collectors()).extracting(CollectorStatus::collector)
                    .containsExactly("pg_database", "pg_replication_slots", "pg_settings", "pg_stat_activity",
                            "pg_stat_bgwriter", "pg_stat_database", "pg_stat_io", "pg_stat_progress_vacuum",
                            "pg_stat_replication", "pg_stat_statements", "pg_stat_wal", "pg_stat_wal_receiver",
                            "xmin_horizon");
            assertThat(state.collectors()).filteredOn(CollectorStatus::enabled)
                    .allSatisfy(c -> assertThat(c.success()).as(c.collector()).isTrue());
            // pg_stat_wal is 14+, pg_stat_io 16+; the WAL receiver runs on a standby only.
            assertThat(state.collectors()).filteredOn(c -> !c.enabled()).extracting(CollectorStatus::collector)
                    .containsExactlyElementsOf(major < 14 ? List.of("pg_stat_io", "pg_stat_wal", "pg_stat_wal_receiver")
                            : major < 16 ? List.of("pg_stat_io", "pg_stat_wal_receiver") : List.of("pg_stat_wal_receiver"));
            assertThat(state.findings()).isEmpty();
            String metrics = m.scrape();
            assertThat(metrics).contains("pg_up 1.0\n", "pg_in_recovery 0.0\n",
                    "pg_settings_max_connections 20.0\n", "pg_settings_superuser_reserved_connections 3.0\n",
                    "pgvigil_connection_slots_usable 17.0\n",
                    "pgvigil_collector_success{collector=\"pg_stat_activity\"} 1.0\n",
                    "pgvigil_check_threshold{check=\"pool_saturation\",severity=\"warning\"} 0.8\n",
                    "pgvigil_check_threshold{check=\"long_transaction\",severity=\"critical\"} 300.0\n");
            assertThat(metrics).contains("pg_server_version_num " + (double) state.snapshot().server().versionNum());
            if (major >= 16) {
                assertThat(metrics).contains("pg_settings_reserved_connections 0.0\n");
            } else {
                assertThat(metrics).doesNotContain("pg_settings_reserved_connections");
            }
            assertThat(metrics).doesNotContain("pgvigil_breach{");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void connectionBurstOpensPoolSaturationWarningThenCritical(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("burst");
        List<Connection> clients = new ArrayList<>();
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect("postgres")) {
            m.poll();
            // pgvigil + admin + 12 clients = 14 of 17 usable slots: 0.82, a warning.
            openClients(pg, clients, 12);
            awaitClientBackends(pg, admin, 14);
            m.poll();
            Finding warning = m.finding("pool_saturation", "server").orElseThrow();
            assertThat(warning.severity()).isEqualTo(Severity.WARNING);
            assertThat(warning.value()).isEqualTo(14.0 / 17);
            assertThat(warning.threshold()).isEqualTo(0.8);
            assertThat(warning.message()).startsWith("14 client connections use 82% of the 17 usable slots")
                    .contains("most in database burst (12)");
            assertThat(m.scrape()).contains(
                    "pgvigil_breach{check=\"pool_saturation\",severity=\"warning\",subject=\"server\"} 1.0\n",
                    "pgvigil_check_value{check=\"pool_saturation\",subject=\"server\"} " + (14.0 / 17) + "\n",
                    "pg_connections{datname=\"burst\",state=\"idle\"} 12.0\n");

            // Two more: 16 of 17, critical; the finding keeps its opening time.
            openClients(pg, clients, 2);
            awaitClientBackends(pg, admin, 16);
            m.poll();
            Finding critical = m.finding("pool_saturation", "server").orElseThrow();
            assertThat(critical.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(critical.value()).isEqualTo(16.0 / 17);
            assertThat(critical.since()).isEqualTo(warning.since());
            String metrics = m.scrape();
            assertThat(metrics).contains(
                    "pgvigil_breach{check=\"pool_saturation\",severity=\"critical\",subject=\"server\"} 1.0\n")
                    .doesNotContain("pgvigil_breach{check=\"pool_saturation\",severity=\"warning\"");

            closeAll(clients);
            awaitClientBackends(pg, admin, 2);
            m.poll();
            assertThat(m.finding("pool_saturation", "server")).isEmpty();
            assertThat(m.evaluation("pool_saturation", "server").orElseThrow().value()).isEqualTo(2.0 / 17);
            assertThat(m.scrape()).doesNotContain("pgvigil_breach{");
        } finally {
            closeAll(clients);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void rollbackStormOpensRollbackRateFinding(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("storm");
        // Exact transaction counts: pgvigil's own visits for index statistics commit there too, so it stays out.
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.exclude", "storm");
                Connection admin = pg.connect("postgres")) {
            m.poll();
            long rollbacksBefore = rollbacks(pg, admin, "storm");
            transactionsSeen(pg, admin, "storm", 10, 20);
            m.poll();

            Evaluation e = m.evaluation("rollback_rate", "storm").orElseThrow();
            var delta = m.last().window().databases().get("storm");
            assertThat(delta.xactRollback()).isEqualTo(20);
            // 10 commits, plus the few that a backend's start-up and shutdown count.
            assertThat(delta.xactCommit()).isBetween(10L, 13L);
            assertThat(e.value()).isEqualTo(20.0 / (20 + delta.xactCommit()));
            Finding f = m.finding("rollback_rate", "storm").orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(f.threshold()).isEqualTo(0.25);
            assertThat(f.message()).startsWith("20 of " + (20 + delta.xactCommit()) + " transactions")
                    .contains("rolled back in database storm");
            String metrics = m.scrape();
            assertThat(metrics).contains(
                    "pgvigil_breach{check=\"rollback_rate\",severity=\"critical\",subject=\"storm\"} 1.0\n",
                    "pg_stat_database_xact_rollback_total{datname=\"storm\"} " + (double) (rollbacksBefore + 20) + "\n",
                    "pgvigil_check_value{check=\"rollback_rate\",subject=\"storm\"} " + e.value() + "\n");

            // A mild interval: 25 commits, 5 rollbacks = 0.17, a warning.
            transactionsSeen(pg, admin, "storm", 25, 5);
            m.poll();
            assertThat(m.finding("rollback_rate", "storm").orElseThrow().severity()).isEqualTo(Severity.WARNING);

            // A quiet interval (fewer than min-transactions) is not judged: the finding clears.
            m.poll();
            assertThat(m.finding("rollback_rate", "storm")).isEmpty();
            assertThat(m.evaluation("rollback_rate", "storm")).isEmpty();
            assertThat(m.scrape()).doesNotContain("pgvigil_breach{check=\"rollback_rate\"");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void fewRollbacksBelowMinTransactionsAreNotJudged(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("few");
        // Exact transaction counts: pgvigil's own visits for index statistics commit there too, so it stays out.
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.exclude", "few");
                Connection admin = pg.connect("postgres")) {
            m.poll();
            transactionsSeen(pg, admin, "few", 2, 10);
            m.poll();
            assertThat(m.last().window().databases().get("few").xactRollback()).isEqualTo(10);
            assertThat(m.evaluation("rollback_rate", "few")).isEmpty();
            assertThat(m.finding("rollback_rate", "few")).isEmpty();
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void statsResetGivesNoNegativeDeltaAndHoldsTheOpenFinding(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("reset");
        // Exact transaction counts: pgvigil's own visits for index statistics commit there too, so it stays out.
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.databases.exclude", "reset");
                Connection admin = pg.connect("postgres")) {
            m.poll();
            transactionsSeen(pg, admin, "reset", 5, 40);
            m.poll();
            Finding open = m.finding("rollback_rate", "reset").orElseThrow();

            try (Connection c = pg.connect("reset"); Statement st = c.createStatement()) {
                st.execute("SELECT pg_stat_reset()");
            }
            PgServer.await("the reset reaches pg_stat_database", () -> rollbacks(pg, admin, "reset") == 0);
            m.poll();
            assertThat(m.last().window().databases()).doesNotContainKey("reset");
            assertThat(m.last().window().held()).contains("reset");
            assertThat(m.last().window().databases().values()).allSatisfy(d -> {
                assertThat(d.xactCommit()).isNotNegative();
                assertThat(d.xactRollback()).isNotNegative();
            });
            assertThat(m.finding("rollback_rate", "reset")).as("held through the reset, unchanged").contains(open);
            assertThat(m.scrape()).doesNotContain("pgvigil_check_value{check=\"rollback_rate\",subject=\"reset\"");

            // The next interval measures again, from the reset counters.
            transactionsSeen(pg, admin, "reset", 10, 20);
            m.poll();
            assertThat(m.last().window().databases().get("reset").xactRollback()).isEqualTo(20);
            assertThat(m.finding("rollback_rate", "reset").orElseThrow().since()).isEqualTo(open.since());
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void sessionIdleInTransactionOpensLongTransaction(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        // The age is the server's now() - xact_start: real time, so thresholds are short rather than faked.
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.checks.long-transaction.warning", "300ms",
                "pgvigil.checks.long-transaction.critical", "1500ms");
                Connection job = pg.connect("postgres", "billing-job")) {
            m.poll();
            assertThat(m.finding("long_transaction", "server")).isEmpty();
            assertThat(m.evaluation("long_transaction", "server").orElseThrow().value())
                    .as("pgvigil's own transaction is never counted").isZero();
            // An idle session has no transaction: it is not "a transaction open for 0 s" (greatest(0, NULL) is 0).
            assertThat(m.evaluation("long_transaction", "server").orElseThrow().message()).isEqualTo("no open transaction");

            job.setAutoCommit(false);
            int pid;
            try (Statement st = job.createStatement()) {
                var rs = st.executeQuery("SELECT pg_backend_pid()");
                rs.next();
                pid = rs.getInt(1);
                st.execute("SELECT 'card 4111-1111' AS secret");
            }
            Thread.sleep(400);
            m.poll();
            Finding warning = m.finding("long_transaction", "server").orElseThrow();
            assertThat(warning.severity()).isEqualTo(Severity.WARNING);
            // Wide bounds: a slow CI machine may poll late, but not 1.1 s late.
            assertThat(warning.value()).isBetween(0.4, 1.5);
            assertThat(warning.message()).contains("pid " + pid, "user postgres", "application 'billing-job'",
                    "database postgres", "state idle in transaction", "query: SELECT '…' AS secret")
                    .doesNotContain("4111");
            assertThat(m.scrape()).contains(
                    "pgvigil_breach{check=\"long_transaction\",severity=\"warning\",subject=\"server\"} 1.0\n");
            double idle = m.last().snapshot().get(io.pgvigil.activity.StatActivityCollector.Activity.class)
                    .orElseThrow().longestIdleInTransactionSeconds();
            assertThat(idle).isBetween(0.3, 1.5);

            Thread.sleep(1500 - (long) (warning.value() * 1000) + 300);
            m.poll();
            assertThat(m.finding("long_transaction", "server").orElseThrow().severity()).isEqualTo(Severity.CRITICAL);

            job.commit();
            m.poll();
            assertThat(m.finding("long_transaction", "server")).isEmpty();
            assertThat(m.scrape()).contains("pg_oldest_transaction_age_seconds 0.0\n")
                    .doesNotContain("pgvigil_breach{check=\"long_transaction\"");
        }
    }

    static void transactions(PgServer pg, String database, int commits, int rollbacks) throws SQLException {
        try (Connection c = pg.connect(database); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int i = 0; i < commits; i++) {
                st.execute("SELECT 1");
                c.commit();
            }
            for (int i = 0; i < rollbacks; i++) {
                st.execute("SELECT 1");
                c.rollback();
            }
        }
    }

    /** Runs the transactions and waits until pg_stat_database shows their rollbacks. */
    static void transactionsSeen(PgServer pg, Connection admin, String database, int commits, int rollbacks)
            throws SQLException {
        long before = rollbacks(pg, admin, database);
        transactions(pg, database, commits, rollbacks);
        PgServer.await(rollbacks + " rollbacks in " + database + " reach pg_stat_database",
                () -> rollbacks(pg, admin, database) == before + rollbacks);
    }

    static long rollbacks(PgServer pg, Connection admin, String database) {
        try {
            // pg_stat_clear_snapshot: within one session, stats views would otherwise keep returning a cached value
            admin.createStatement().execute("SELECT pg_stat_clear_snapshot()");
            return pg.queryLong(admin, "SELECT xact_rollback FROM pg_stat_database WHERE datname = ?", database);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void openClients(PgServer pg, List<Connection> clients, int n) throws SQLException {
        for (int i = 0; i < n; i++) {
            clients.add(pg.connect("burst", "burst-client"));
        }
    }

    /** Waits until exactly {@code n} client backends exist (backend exit is asynchronous). */
    static void awaitClientBackends(PgServer pg, Connection admin, int n) {
        PgServer.await(n + " client backends", () -> {
            try {
                return pg.queryLong(admin, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'") == n;
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static void closeAll(List<Connection> connections) throws SQLException {
        for (Connection c : connections) {
            c.close();
        }
        connections.clear();
    }
}
