package io.pgvigil.pgbouncer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.PgBouncerServer;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.TestMonitor;

/**
 * pgvigil watching a real PgBouncer (Debian's 1.18) in front of a real PostgreSQL: clients queue in a
 * pool (transaction and session mode) and {@code pooler_saturation} opens on that pool with its numbers,
 * then clears; a PgBouncer that refuses the login, or is stopped and started again, is reported and
 * recovered from without leaking a connection or a thread, and PostgreSQL is watched as usual meanwhile
 * (and PgBouncer while PostgreSQL is down). The waits are real: PgBouncer measures them with its own clock.
 */
class PgBouncerTest {

    private static final String NAME = "edge";
    private static final String SUBJECT = NAME + "/" + PgBouncerServer.DATABASE + "/" + PgBouncerServer.APP_USER;
    private static final String POOL = "database=\"app\",pgbouncer=\"edge\"";

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final ExecutorService clients = Executors.newCachedThreadPool();

    @BeforeAll
    static void pgbouncerInstalled() {
        PgBouncerServer.require();
    }

    @AfterEach
    void closeEverything() throws Exception {
        clients.shutdownNow();
        clients.awaitTermination(10, TimeUnit.SECONDS);
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            cleanup.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T resource) {
        cleanup.add(resource);
        return resource;
    }

    private TestMonitor watching(PgServer pg, PgBouncerServer pgb, String... more) {
        List<String> kv = new ArrayList<>(List.of("pgvigil.pgbouncer.url", pgb.url(), "pgvigil.pgbouncer.name", NAME,
                "pgvigil.pgbouncer.username", PgBouncerServer.STATS_USER, "pgvigil.pgbouncer.password",
                PgBouncerServer.STATS_PASSWORD, "pgvigil.indexes.enabled", "false"));
        kv.addAll(List.of(more));
        return closing(TestMonitor.watching(pg, kv.toArray(String[]::new)));
    }

    /** A client that opens a transaction through PgBouncer and keeps it (and so its server connection) open. */
    private Connection holdingTransaction(PgBouncerServer pgb) throws SQLException {
        Connection c = closing(pgb.connectApp());
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
        return c;
    }

    /**
     * A client whose first statement has to wait in PgBouncer's queue (pgjdbc's own {@code SET
     * application_name} at connect, then a query); the future ends when it got a server connection.
     */
    private Future<?> waitingClient(PgBouncerServer pgb) {
        return clients.submit(() -> {
            try (Connection c = pgb.connectApp(); Statement st = c.createStatement()) {
                st.execute("SELECT 1");
            }
            return null;
        });
    }

    private static Poolers.Pool pool(PollState state) {
        Poolers poolers = state.snapshot().get(Poolers.class).orElseThrow();
        return poolers.readings().get(0).pools().stream()
                .filter(p -> p.database().equals(PgBouncerServer.DATABASE)).findFirst().orElseThrow();
    }

    private static CollectorStatus status(PollState state) {
        return state.collectors().stream().filter(c -> c.collector().equals("pgbouncer:" + NAME)).findFirst().orElseThrow();
    }

    @Test
    void clientsQueuedInTransactionModeOpenPoolerSaturationOnTheirPoolAndClearWhenTheLoadStops() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
        TestMonitor m = watching(pg, pgb, "pgvigil.checks.pooler-saturation.critical", "2500ms",
                "pgvigil.checks.long-transaction.warning", "1s", "pgvigil.checks.long-transaction.critical", "1h");

        PollState idle = m.poll();
        assertThat(status(idle).success()).isTrue();
        assertThat(m.scrape()).contains("pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 1.0");

        List<Connection> holders = List.of(holdingTransaction(pgb), holdingTransaction(pgb));
        List<Future<?>> waiters = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiters.add(waitingClient(pgb));
        }
        PgServer.await("three clients queue in PgBouncer", () -> pool(m.poll()).clientsWaiting() == 3);
        PgServer.await("the oldest has waited 1 s", () -> m.poll() != null && m.finding("pooler_saturation", SUBJECT).isPresent());

        Finding warning = m.finding("pooler_saturation", SUBJECT).orElseThrow();
        assertThat(warning.severity()).isEqualTo(Severity.WARNING);
        assertThat(warning.value()).isBetween(1.0, 2.5);
        assertThat(warning.threshold()).isEqualTo(1.0);
        assertThat(warning.message()).contains("pool app/postgres of PgBouncer edge (transaction mode): 3 client(s) waiting",
                "2 active client(s); 2 server connection(s) in use and 0 idle, pool_size 2, max_db_connections unlimited",
                "Every server connection of the pool is busy: raise pool_size",
                "see the long_transaction finding");
        String scrape = m.scrape();
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_pool_client_connections{" + POOL + ",state=\"waiting\",user=\"postgres\"}")).isEqualTo(3.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_pool_client_connections{" + POOL + ",state=\"active\",user=\"postgres\"}")).isEqualTo(2.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_pool_server_connections{" + POOL + ",state=\"active\",user=\"postgres\"}")).isEqualTo(2.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_pool_max_wait_seconds{" + POOL + ",user=\"postgres\"}")).isGreaterThanOrEqualTo(1.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_database_pool_size{" + POOL + "}")).isEqualTo(2.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_pgbouncer_database_max_connections{" + POOL + "}")).isEqualTo(0.0);
        assertThat(TestMonitor.sample(scrape, "pgvigil_check_value{check=\"pooler_saturation\",subject=\"" + SUBJECT + "\"}"))
                .isGreaterThanOrEqualTo(1.0);

        PgServer.await("the oldest has waited 2.5 s", () -> m.poll() != null
                && m.finding("pooler_saturation", SUBJECT).map(f -> f.severity() == Severity.CRITICAL).orElse(false));
        assertThat(m.finding("pooler_saturation", SUBJECT).orElseThrow().since()).isEqualTo(warning.since());

        for (Connection c : holders) {
            c.commit();
        }
        for (Future<?> w : waiters) {
            w.get(10, TimeUnit.SECONDS);
        }
        assertThat(io.pgvigil.testing.MetricsDoc.exported(scrape)).as("every PgBouncer family of docs/metrics.md")
                .containsAll(io.pgvigil.testing.MetricsDoc.NEED_A_PGBOUNCER);
        assertThat(io.pgvigil.testing.MetricsDoc.documented()).containsAll(io.pgvigil.testing.MetricsDoc.NEED_A_PGBOUNCER);

        // The queue is gone, but maxwait is a sample at the poll's instant: the finding clears only after
        // clear-after (3) polls in a row without a wait, stepping down from critical meanwhile no faster.
        PollState after = m.poll();
        assertThat(pool(after).clientsWaiting()).isZero();
        assertThat(m.evaluation("pooler_saturation", SUBJECT).orElseThrow().value()).isZero();
        assertThat(m.finding("pooler_saturation", SUBJECT).orElseThrow().severity()).isEqualTo(Severity.CRITICAL);
        assertThat(m.finding("pooler_saturation", SUBJECT).orElseThrow().message())
                .contains("0 client(s) waiting", "No client waits 1.0 s or longer now: the finding clears after 3")
                .doesNotContain("raise pool_size");
        m.poll();
        assertThat(m.finding("pooler_saturation", SUBJECT)).isPresent();
        m.poll();
        assertThat(m.finding("pooler_saturation", SUBJECT)).isEmpty();
        // The counters behind the mean wait: the three waiters' time is in total_wait_time (the oldest waited
        // 2.5 s at least, the two others queued a few milliseconds after it).
        assertThat(TestMonitor.sample(m.scrape(), "pgvigil_pgbouncer_client_wait_seconds_total{" + POOL + "}"))
                .isGreaterThanOrEqualTo(3 * 2.0);
        assertThat(TestMonitor.sample(m.scrape(), "pgvigil_pgbouncer_transactions_total{" + POOL + "}")).isGreaterThanOrEqualTo(5.0);
    }

    @Test
    void inSessionModeIdleClientsHoldTheServerConnectionsAndTheAdviceSaysSo() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "session", 2));
        TestMonitor m = watching(pg, pgb);

        List<Connection> sessions = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Connection c = closing(pgb.connectApp());
            try (Statement st = c.createStatement()) {
                st.execute("SELECT 1"); // autocommit: the transaction ends, the session keeps its server connection
            }
            sessions.add(c);
        }
        Future<?> waiter = waitingClient(pgb);
        PgServer.await("a client has waited 1 s", () -> m.poll() != null && m.finding("pooler_saturation", SUBJECT).isPresent());

        Finding f = m.finding("pooler_saturation", SUBJECT).orElseThrow();
        assertThat(f.severity()).isEqualTo(Severity.WARNING);
        assertThat(f.message()).contains("(session mode): 1 client(s) waiting", "2 server connection(s) in use",
                "in session mode a client keeps its server connection until it disconnects");
        assertThat(pool(m.last()).poolMode()).isEqualTo("session");

        sessions.get(0).close();
        waiter.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 3; i++) {
            assertThat(m.finding("pooler_saturation", SUBJECT)).as("poll %d after the queue drained", i).isPresent();
            m.poll();
        }
        assertThat(m.finding("pooler_saturation", SUBJECT)).isEmpty();
    }

    @Test
    void aPausedDatabaseIsAdvisedResumeNotALargerPool() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        // An admin of this PgBouncer only, to PAUSE the database; pgvigil itself stays a stats user.
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 5, "admin_users = " + PgBouncerServer.OTHER_USER));
        TestMonitor m = watching(pg, pgb);
        try (ConsoleConnection admin = ConsoleConnection.open("127.0.0.1", pgb.port(), PgBouncerServer.OTHER_USER,
                PgBouncerServer.OTHER_PASSWORD, "test-admin", Duration.ofSeconds(5), Duration.ofSeconds(10))) {
            // One client first, so that PgBouncer knows the server's parameters and a new client's login
            // completes at once: the client then queues as waiting (cl_waiting, maxwait), not in login.
            try (Connection warm = pgb.connectApp(); Statement st = warm.createStatement()) {
                st.execute("SELECT 1");
            }
            admin.query("PAUSE " + PgBouncerServer.DATABASE);
            Future<?> waiter = waitingClient(pgb);
            PgServer.await("a client has waited 1 s", () -> m.poll() != null && m.finding("pooler_saturation", SUBJECT).isPresent());

            Finding f = m.finding("pooler_saturation", SUBJECT).orElseThrow();
            assertThat(f.message()).contains("1 client(s) waiting", "pool_size 5",
                    "The database app is paused in PgBouncer (PAUSE): its clients wait until an admin runs RESUME app")
                    .doesNotContain("raise pool_size");
            admin.query("RESUME " + PgBouncerServer.DATABASE);
            waiter.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFindingIsHeldWhileItsPgBouncerCannotBeReadForAFewPollsSoOneIncidentOpensOnce() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 1));
        TestMonitor m = watching(pg, pgb, "pgvigil.target.statement-timeout", "1s", "pgvigil.target.connect-timeout", "1s");
        Connection holder = holdingTransaction(pgb);
        Future<?> waiter = waitingClient(pgb);
        PgServer.await("a client has waited 1 s", () -> m.poll() != null && m.finding("pooler_saturation", SUBJECT).isPresent());
        Finding opened = m.finding("pooler_saturation", SUBJECT).orElseThrow();

        pgb.pause();
        try {
            for (int i = 1; i <= PoolerSaturationCheck.MAX_HELD_POLLS; i++) {
                m.advance(Duration.ofSeconds(15));
                assertThat(status(m.poll()).success()).isFalse();
                assertThat(m.finding("pooler_saturation", SUBJECT)).as("failed read %d: held, not withdrawn", i).isPresent();
            }
        } finally {
            pgb.resume();
        }
        m.advance(Duration.ofSeconds(15));
        assertThat(status(m.poll()).success()).isTrue();
        assertThat(m.finding("pooler_saturation", SUBJECT).orElseThrow().since()).as("the same incident, not a new one")
                .isEqualTo(opened.since());

        // Longer than that, the finding goes (PgvigilPgBouncerDown speaks for a PgBouncer that stays down).
        pgb.pause();
        try {
            for (int i = 0; i <= PoolerSaturationCheck.MAX_HELD_POLLS; i++) {
                m.advance(Duration.ofSeconds(15));
                m.poll();
            }
            assertThat(m.finding("pooler_saturation", SUBJECT)).isEmpty();
        } finally {
            pgb.resume();
        }
        holder.commit();
        waiter.get(10, TimeUnit.SECONDS);
    }

    @Test
    void whenMaxDbConnectionsIsTheLimitTheAdviceSaysSo() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 5, "max_db_connections = 1"));
        TestMonitor m = watching(pg, pgb);

        Connection holder = holdingTransaction(pgb);
        Future<?> waiter = waitingClient(pgb);
        PgServer.await("a client has waited 1 s", () -> m.poll() != null && m.finding("pooler_saturation", SUBJECT).isPresent());

        Finding f = m.finding("pooler_saturation", SUBJECT).orElseThrow();
        assertThat(f.message()).contains("1 client(s) waiting", "1 server connection(s) in use and 0 idle, pool_size 5,"
                + " max_db_connections 1", "The database's max_db_connections is reached (1 server connections across its pools)");
        assertThat(TestMonitor.sample(m.scrape(), "pgvigil_pgbouncer_database_max_connections{" + POOL + "}")).isEqualTo(1.0);
        assertThat(TestMonitor.sample(m.scrape(), "pgvigil_pgbouncer_database_current_connections{" + POOL + "}")).isEqualTo(1.0);
        holder.commit();
        waiter.get(10, TimeUnit.SECONDS);
    }

    @Test
    void aPgBouncerThatStopsAnsweringFailsThePollWithinTheStatementTimeoutAndIsReadAgainOnceItAnswers() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
        TestMonitor m = watching(pg, pgb, "pgvigil.target.statement-timeout", "1s", "pgvigil.target.connect-timeout", "1s");
        assertThat(status(m.poll()).success()).isTrue();

        pgb.pause();
        try {
            long start = System.nanoTime();
            PollState hung = m.poll();
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(status(hung).success()).isFalse();
            assertThat(status(hung).error()).contains("PgBouncer did not answer SHOW POOLS within 1000 ms");
            assertThat(hung.up()).as("PostgreSQL is polled as usual").isTrue();
            assertThat(seconds).as("the poll is bounded by the statement timeout").isLessThan(3);
            // The next poll logs in again: the login is bounded by the connect timeout.
            start = System.nanoTime();
            assertThat(status(m.poll()).success()).isFalse();
            assertThat((System.nanoTime() - start) / 1e9).isLessThan(3);
        } finally {
            pgb.resume();
        }
        assertThat(status(m.poll()).success()).isTrue();
    }

    @Test
    void aRefusedLoginIsReportedOnceWhilePostgresIsWatchedAsUsual() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
        Path secret = Files.createTempFile("pgvigil-pgbouncer-", ".secret");
        closing(() -> Files.deleteIfExists(secret));
        Files.writeString(secret, "not-the-password\n");

        TestMonitor wrongPassword = closing(TestMonitor.watching(pg, "pgvigil.pgbouncer.url", pgb.url(),
                "pgvigil.pgbouncer.name", NAME, "pgvigil.pgbouncer.username", PgBouncerServer.STATS_USER,
                "pgvigil.pgbouncer.password-file", secret.toString(), "pgvigil.indexes.enabled", "false"));
        PollState refused = wrongPassword.poll();
        assertThat(refused.up()).isTrue();
        assertThat(refused.evaluations()).containsKey("pool_saturation");
        assertThat(refused.evaluations()).doesNotContainKey("pooler_saturation");
        assertThat(status(refused).success()).isFalse();
        assertThat(status(refused).error()).contains("SASL authentication failed");
        String scrape = wrongPassword.scrape();
        assertThat(scrape).contains("pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 0.0", "pg_up 1.0",
                "pgvigil_collector_success{collector=\"pgbouncer:edge\"} 0.0");
        assertThat(scrape).doesNotContain("pgvigil_pgbouncer_pool_client_connections{");

        long sockets = openSockets();
        for (int i = 0; i < 100; i++) {
            assertThat(status(wrongPassword.poll()).success()).isFalse();
        }
        assertThat(openSockets()).as("100 refused logins leave no socket open").isLessThanOrEqualTo(sockets);
        assertThat(consoleClients(pgb)).as("nor a client in PgBouncer").isZero();

        // The password file is read at each connect: a rotated secret is used from the next poll.
        Files.writeString(secret, PgBouncerServer.STATS_PASSWORD + "\n");
        assertThat(status(wrongPassword.poll()).success()).isTrue();
        assertThat(wrongPassword.scrape()).contains("pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 1.0");

        // A user PgBouncer knows but that is in neither stats_users nor admin_users.
        TestMonitor wrongUser = closing(TestMonitor.watching(pg, "pgvigil.pgbouncer.url", pgb.url(),
                "pgvigil.pgbouncer.name", NAME, "pgvigil.pgbouncer.username", PgBouncerServer.OTHER_USER,
                "pgvigil.pgbouncer.password", PgBouncerServer.OTHER_PASSWORD, "pgvigil.indexes.enabled", "false"));
        PollState notAllowed = wrongUser.poll();
        assertThat(notAllowed.up()).isTrue();
        assertThat(status(notAllowed).success()).isFalse();
        assertThat(status(notAllowed).error()).contains("PgBouncer: not allowed");
    }

    @Test
    void aStoppedPgBouncerIsReportedWithoutLeakingAndPickedUpAgainInTheFirstPollAfterItsRestart() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
        TestMonitor m = watching(pg, pgb);
        assertThat(status(m.poll()).success()).isTrue();

        pgb.stop();
        PollState down = m.poll();
        assertThat(down.up()).isTrue();
        assertThat(status(down).error()).contains("cannot reach PgBouncer at", "[SQLState 08001]");
        // Warm up what a failing poll touches once (classes, the JIT), then count threads and sockets.
        for (int i = 0; i < 20; i++) {
            m.poll();
        }
        int threads = Thread.activeCount();
        long sockets = openSockets();
        for (int i = 0; i < 300; i++) {
            PollState failed = m.poll();
            assertThat(status(failed).success()).isFalse();
            assertThat(failed.up()).isTrue();
        }
        System.out.printf("PgBouncer down for 300 polls: threads %d -> %d, open sockets %d -> %d%n", threads,
                Thread.activeCount(), sockets, openSockets());
        assertThat(Thread.activeCount()).isLessThanOrEqualTo(threads);
        assertThat(openSockets()).isLessThanOrEqualTo(sockets);
        assertThat(m.scrape()).contains("pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 0.0", "pg_up 1.0");

        pgb.startProcess();
        PollState back = m.poll();
        assertThat(status(back).success()).isTrue();
        assertThat(m.scrape()).contains("pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 1.0");
        // PgBouncer restarted under a live connection: the first poll after finds it dead and reconnects at once.
        pgb.stop();
        pgb.startProcess();
        assertThat(status(m.poll()).success()).isTrue();
        assertThat(consoleClients(pgb)).as("pgvigil holds one console connection, whatever happened before").isEqualTo(1);
    }

    @Test
    void pgBouncerIsWatchedWhilePostgresIsDown() throws Exception {
        try (PgServer pg = PgServer.start(PgServer.defaultMajor())) {
            PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
            TestMonitor m = watching(pg, pgb);
            assertThat(m.poll().up()).isTrue();

            pg.stop();
            PollState down = m.poll();
            assertThat(down.up()).isFalse();
            assertThat(status(down).success()).isTrue();
            assertThat(down.evaluations()).containsKey("pooler_saturation").doesNotContainKey("pool_saturation");
            assertThat(down.snapshot().get(Poolers.class).orElseThrow().readings().get(0).database("app").poolSize())
                    .isEqualTo(2);
            assertThat(m.scrape()).contains("pg_up 0.0", "pgvigil_pgbouncer_up{pgbouncer=\"edge\"} 1.0",
                    "pgvigil_pgbouncer_database_pool_size{" + POOL + "} 2.0");
        }
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "auth_type = {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = { "plain", "md5", "scram-sha-256" })
    void theConsoleClientLogsInWithEveryPasswordMethodAndIsRefusedAWrongPassword(String authType) throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2, "auth_type = " + authType));
        try (ConsoleConnection c = ConsoleConnection.open("127.0.0.1", pgb.port(), PgBouncerServer.STATS_USER,
                PgBouncerServer.STATS_PASSWORD, "pgvigil-test", Duration.ofSeconds(5), Duration.ofSeconds(5))) {
            assertThat(c.parameter("server_version")).endsWith("/bouncer");
            assertThat(c.authMethod()).isEqualTo(Map.of("plain", "cleartext", "md5", "md5", "scram-sha-256", "SCRAM-SHA-256")
                    .get(authType));
            assertThat(c.query("SHOW POOLS")).isNotEmpty().allSatisfy(row -> assertThat(row).containsKeys("database",
                    "user", "cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait"));
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ConsoleConnection.open("127.0.0.1", pgb.port(),
                PgBouncerServer.STATS_USER, "wrong", "pgvigil-test", Duration.ofSeconds(5), Duration.ofSeconds(5)))
                .hasMessageContaining("authentication failed").hasMessageNotContaining("wrong");
    }

    /**
     * Why pgvigil has its own console client: pgjdbc (42.7.5 and later; 42.7.13 here) follows the login with {@code SET
     * extra_float_digits} for a server reporting a version below 12, as the console does, and PgBouncer
     * refuses any SET from a stats user, whatever the query mode. If this starts to pass, pgjdbc or
     * PgBouncer changed, and {@link ConsoleConnection} may give way to pgjdbc.
     */
    @Test
    void pgjdbcCannotLogInToTheConsoleAsAStatsUser() {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        PgBouncerServer pgb = closing(PgBouncerServer.start(pg, "transaction", 2));
        for (String params : List.of("preferQueryMode=simple", "preferQueryMode=simple&assumeMinServerVersion=12")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> java.sql.DriverManager.getConnection(
                    "jdbc:postgresql://127.0.0.1:" + pgb.port() + "/pgbouncer?" + params, PgBouncerServer.STATS_USER,
                    PgBouncerServer.STATS_PASSWORD).close()).as(params).hasMessageContaining("admin access needed");
        }
    }

    /** Clients of PgBouncer's console logged in with pgvigil's application_name. */
    private static long consoleClients(PgBouncerServer pgb) throws SQLException {
        try (ConsoleConnection c = ConsoleConnection.open("127.0.0.1", pgb.port(), PgBouncerServer.STATS_USER,
                PgBouncerServer.STATS_PASSWORD, "pgvigil-test", Duration.ofSeconds(5), Duration.ofSeconds(5))) {
            List<Map<String, String>> rows = c.query("SHOW CLIENTS");
            return rows.stream().filter(r -> "pgbouncer".equals(r.get("database")) && "pgvigil".equals(r.get("application_name")))
                    .count();
        }
    }

    private static long openSockets() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }
}
