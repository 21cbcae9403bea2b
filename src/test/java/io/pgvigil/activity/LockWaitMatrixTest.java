package io.pgvigil.activity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.PGConnection;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.activity.LockChains.Holder;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * {@code lock_wait} against real lock waits on every major: a blocking chain three deep, a session
 * waiting on an advisory lock next to sessions waiting on {@code pg_sleep} and on WAL I/O, a deadlock
 * in progress, a prepared transaction and an autovacuum worker at the head of a chain; and the cost
 * rule: a poll with nobody waiting calls {@code pg_blocking_pids()} not at all and reads neither
 * {@code pg_locks} nor {@code pg_prepared_xacts}.
 *
 * <p>Blocked sessions run on connections of their own, in threads, with a statement timeout, so that
 * nothing hangs; waits are measured by the server's clock, so the thresholds are short and the test
 * waits for real, a second or two.
 */
class LockWaitMatrixTest {

    static final String DB = "locks";

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aThreeDeepChainNamesItsRootBlockerAndClearsWhenItCommits(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        accounts(pg);
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.checks.lock-wait.warning", "3s",
                "pgvigil.checks.lock-wait.critical", "6s");
                Connection admin = pg.connect(DB);
                Session a = new Session(pg, "pdf-export"); Session b = new Session(pg, "checkout");
                Session c = new Session(pg, "checkout")) {
            m.poll();
            assertThat(m.evaluation("lock_wait", DB)).map(Evaluation::message)
                    .contains("no session waits for a lock in database locks");

            // A takes a row lock and goes off to make a PDF, idle in its transaction.
            a.begin();
            a.execute("SELECT balance FROM accounts WHERE id = 1 FOR UPDATE");
            // B locks another row, then queues behind A; C queues behind B's row.
            b.begin();
            b.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 2");
            Future<?> bDone = b.start("UPDATE accounts SET balance = balance + 10 WHERE id = 1");
            long bSince = System.nanoTime();
            awaitWaiting(admin, b, "transactionid");
            Future<?> cDone = c.start("UPDATE accounts SET balance = 0 WHERE id = 2");
            awaitWaiting(admin, c, "transactionid");

            m.poll();
            Activity activity = m.last().snapshot().get(Activity.class).orElseThrow();
            assertThat(backend(activity, b.pid).blockedBy()).containsExactly(a.pid);
            assertThat(backend(activity, c.pid).blockedBy()).containsExactly(b.pid);
            assertThat(backend(activity, a.pid).blockedBy()).isNull();
            // Texts only for the oldest transaction (A) and the blockers (A, B), never for C.
            assertThat(backend(activity, a.pid).query()).isEqualTo("SELECT balance FROM accounts WHERE id = 1 FOR UPDATE");
            assertThat(backend(activity, b.pid).query()).startsWith("UPDATE accounts SET balance = balance + 10");
            assertThat(backend(activity, c.pid).query()).isNull();
            Evaluation first = m.evaluation("lock_wait", DB).orElseThrow();
            double bWaited = backend(activity, b.pid).lockWaitSeconds();
            assertThat(first.value()).isEqualTo(bWaited).isLessThan(3.0);
            assertThat(first.severity()).isNull();
            assertThat(first.message()).startsWith("2 sessions wait for a lock in database locks, the longest for ")
                    .contains("(pid " + b.pid + ", on another transaction to end (a row it changed or locked, or a key it"
                                    + " inserted))",
                            ". Root blocker: pid " + a.pid + " (user postgres, application 'pdf-export', client " + a.client
                                    + ", idle in transaction for ",
                            ", transaction open ", ", query: SELECT balance FROM accounts WHERE id = 1 FOR UPDATE)",
                            "; it blocks 1 session directly and 2 in total, chain depth 2. ",
                            "SELECT pg_terminate_backend(" + a.pid + ")", "lock_timeout")
                    .doesNotContain("Other root blockers", "cycle");
            String scrape = m.scrape();
            assertThat(scrape).contains("pg_connections_waiting_on_lock{datname=\"locks\"} 2.0\n",
                    "pgvigil_longest_lock_wait_seconds{datname=\"locks\"} " + bWaited + "\n",
                    "pg_active_connections{wait_event=\"transactionid\",wait_event_type=\"Lock\"} 2.0\n",
                    "pgvigil_check_value{check=\"lock_wait\",subject=\"locks\"} " + bWaited + "\n");

            // The server's clock: B has now waited over the warning threshold, then over the critical one
            // (polled until the server says so, so that a slow machine only makes it later).
            sleepUntil(bSince, 3200);
            pollUntil(m, Severity.WARNING);
            Finding warning = m.finding("lock_wait", DB).orElseThrow();
            assertThat(warning.value()).isBetween(3.0, 6.0);
            assertThat(warning.severity()).isEqualTo(Severity.WARNING);
            assertThat(warning.message()).contains("Root blocker: pid " + a.pid + " (", "chain depth 2");
            assertThat(m.scrape()).contains(
                    "pgvigil_breach{check=\"lock_wait\",severity=\"warning\",subject=\"locks\"} 1.0\n");
            sleepUntil(bSince, 6200);
            pollUntil(m, Severity.CRITICAL);
            assertThat(m.finding("lock_wait", DB).orElseThrow().value()).isGreaterThanOrEqualTo(6.0);

            // A commits: B gets its row, and C now waits on B alone, idle in its transaction.
            a.commit();
            bDone.get(10, TimeUnit.SECONDS);
            awaitState(admin, b, "idle in transaction");
            m.poll();
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().message())
                    .startsWith("1 session waits for a lock in database locks, the longest for ")
                    .contains("(pid " + c.pid + ", ", "Root blocker: pid " + b.pid + " (user postgres, application 'checkout'",
                            "it blocks 1 session directly and 1 in total, chain depth 1.");
            b.commit();
            cDone.get(10, TimeUnit.SECONDS);
            m.poll();
            assertThat(m.finding("lock_wait", DB)).isEmpty();
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().value()).isZero();
            assertThat(m.scrape()).contains("pg_connections_waiting_on_lock{datname=\"locks\"} 0.0\n",
                    "pgvigil_longest_lock_wait_seconds{datname=\"locks\"} 0.0\n")
                    .doesNotContain("pgvigil_breach{check=\"lock_wait\"", "wait_event_type=\"Lock\"");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void anAdvisoryLockWaitCountsWhileSleepAndIoWaitsDoNot(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        accounts(pg);
        List<Session> writers = new ArrayList<>();
        AtomicBoolean writing = new AtomicBoolean(true);
        List<Future<?>> written = new ArrayList<>();
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect(DB);
                Session holder = new Session(pg, "nightly-job"); Session waiter = new Session(pg, "report");
                Session sleeper = new Session(pg, "sleeper")) {
            holder.execute("SELECT pg_advisory_lock(4242)");
            Future<?> waited = waiter.start("SELECT pg_advisory_lock(4242)");
            awaitWaiting(admin, waiter, "advisory");
            Future<?> slept = sleeper.start("SELECT pg_sleep(30)");
            awaitWait(admin, sleeper, "Timeout", "PgSleep");
            // Committing writers wait on WAL flushes (IO / WalSync), each on its own table: no lock between them.
            // (The test servers run with synchronous_commit off, zonky's default: a writer turns it on.)
            for (int i = 0; i < 3; i++) {
                Session w = new Session(pg, "writer");
                writers.add(w);
                w.execute("SET synchronous_commit = on");
                w.execute("CREATE TABLE counter_" + w.pid + " (n int)");
                w.execute("INSERT INTO counter_" + w.pid + " VALUES (0)");
                written.add(w.start(() -> {
                    while (writing.get()) {
                        w.execute("UPDATE counter_" + w.pid + " SET n = n + 1");
                    }
                }));
            }

            // A poll that caught a writer waiting on its WAL: on the flush (IO / WalSync) or on the lightweight
            // lock of the WAL writer (LWLock / WALWrite), which a committing writer behind another's flush waits
            // on. Most polls do; a machine with a fast disk makes it take longer, hence a deadline, not a count.
            PollState io = null;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (io == null && System.nanoTime() < deadline) {
                PollState s = m.poll();
                if (s.snapshot().get(Activity.class).orElseThrow().backends().stream()
                        .anyMatch(b -> "writer".equals(b.applicationName()) && "active".equals(b.state())
                                && ("IO".equals(b.waitEventType()) || "LWLock".equals(b.waitEventType())))) {
                    io = s;
                }
            }
            assertThat(io).as("no poll in 30 s caught a committing writer waiting on its WAL").isNotNull();
            Activity activity = io.snapshot().get(Activity.class).orElseThrow();
            assertThat(activity.waitingOnLockByDatabase()).containsEntry(DB, 1);
            assertThat(LockChains.of(activity).waiters()).containsExactly(Holder.backend(waiter.pid));
            assertThat(backend(activity, sleeper.pid)).satisfies(s -> {
                assertThat(s.waitEventType()).isEqualTo("Timeout");
                assertThat(s.waitingOnLock()).isFalse();
                assertThat(s.blockedBy()).isNull();
            });
            assertThat(activity.backends()).filteredOn(b -> "writer".equals(b.applicationName()))
                    .allSatisfy(w -> assertThat(w.blockedBy()).isNull());
            Evaluation e = io.evaluations().get("lock_wait").stream().filter(x -> x.subject().equals(DB)).findFirst()
                    .orElseThrow();
            assertThat(e.value()).isEqualTo(backend(activity, waiter.pid).lockWaitSeconds()).isPositive();
            assertThat(e.message()).startsWith("1 session waits for a lock in database locks, the longest for ")
                    .contains("(pid " + waiter.pid + ", on an advisory lock)",
                            "Root blocker: pid " + holder.pid + " (user postgres, application 'nightly-job', client "
                                    + holder.client + ", idle for ",
                            ", no open transaction, query: SELECT pg_advisory_lock(4242))",
                            "it blocks 1 session directly and 1 in total, chain depth 1.",
                            "session-level advisory lock (pg_advisory_lock): the application must call pg_advisory_unlock");
            String scrape = m.scrape();
            assertThat(scrape).contains("pg_active_connections{wait_event=\"advisory\",wait_event_type=\"Lock\"} 1.0\n",
                    "pg_active_connections{wait_event=\"PgSleep\",wait_event_type=\"Timeout\"} 1.0\n")
                    .containsPattern("pg_active_connections\\{wait_event=\"[A-Za-z]+\",wait_event_type=\"(IO|LWLock)\"} \\d");

            holder.execute("SELECT pg_advisory_unlock(4242)");
            waited.get(10, TimeUnit.SECONDS);
            m.poll();
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().value()).isZero();
            sleeper.cancel();
            assertThatThrownBy(() -> slept.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class);
        } finally {
            writing.set(false);
            for (Future<?> f : written) {
                f.get(10, TimeUnit.SECONDS);
            }
            for (Session w : writers) {
                w.execute("DROP TABLE counter_" + w.pid);
                w.close();
            }
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aDeadlockInProgressIsReportedAsACycleWithoutRoot(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        accounts(pg);
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect(DB);
                Session s1 = new Session(pg, "transfer"); Session s2 = new Session(pg, "transfer")) {
            // The deadlock detector runs in a waiter after its own deadlock_timeout: a minute here.
            s1.execute("SET deadlock_timeout = '60s'");
            s2.execute("SET deadlock_timeout = '60s'");
            s1.begin();
            s2.begin();
            s1.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 1");
            s2.execute("UPDATE accounts SET balance = balance - 1 WHERE id = 2");
            Future<?> one = s1.start("UPDATE accounts SET balance = balance + 1 WHERE id = 2");
            awaitWaiting(admin, s1, "transactionid");
            Future<?> two = s2.start("UPDATE accounts SET balance = balance + 1 WHERE id = 1");
            awaitWaiting(admin, s2, "transactionid");

            m.poll();
            Activity activity = m.last().snapshot().get(Activity.class).orElseThrow();
            LockChains chains = LockChains.of(activity);
            assertThat(chains.chains()).isEmpty();
            assertThat(chains.inCycle()).containsExactlyInAnyOrder(Holder.backend(s1.pid), Holder.backend(s2.pid));
            int low = Math.min(s1.pid, s2.pid);
            int high = Math.max(s1.pid, s2.pid);
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().message())
                    .startsWith("2 sessions wait for a lock in database locks, the longest for ")
                    .endsWith(". 2 sessions (pid " + low + ", " + high + ") wait on each other in a cycle: a deadlock in"
                            + " progress, which PostgreSQL's deadlock detector ends after deadlock_timeout by cancelling"
                            + " one of them.")
                    .doesNotContain("Root blocker");

            s2.cancel();
            assertThatThrownBy(() -> two.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class);
            one.get(10, TimeUnit.SECONDS);
            s1.rollback();
            s2.rollback();
            m.poll();
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().value()).isZero();
        }
    }

    /**
     * Two queues in one database and one in another: each database is its own finding; in the first,
     * the root blocking more comes first and the other is listed.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void eachDatabaseNamesItsOwnRootsTheBiggestFirst(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        accounts(pg);
        pg.recreateDatabase("ledger");
        try (Connection c = pg.connect("ledger"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE entries (id int PRIMARY KEY, amount int)");
            st.execute("INSERT INTO entries VALUES (1, 0)");
        }
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect(DB);
                Session cart = new Session(pg, "cart"); Session w1 = new Session(pg, "checkout");
                Session w2 = new Session(pg, "checkout"); Session migration = new Session(pg, "migration");
                Session w3 = new Session(pg, "report"); Session posting = new Session(pg, "ledger", "posting");
                Session w4 = new Session(pg, "ledger", "statement")) {
            cart.begin();
            cart.execute("SELECT 1 FROM accounts WHERE id = 1 FOR UPDATE");
            admin.createStatement().execute("CREATE TABLE audit (id int)");
            migration.begin();
            migration.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE");
            posting.begin();
            posting.execute("UPDATE entries SET amount = 1 WHERE id = 1");
            List<Future<?>> done = new ArrayList<>();
            done.add(w1.start("UPDATE accounts SET balance = 1 WHERE id = 1"));
            awaitWaiting(admin, w1, "transactionid");
            done.add(w2.start("UPDATE accounts SET balance = 2 WHERE id = 1"));
            awaitWaiting(admin, w2, "tuple");
            done.add(w3.start("SELECT count(*) FROM audit"));
            awaitWaiting(admin, w3, "relation");
            done.add(w4.start("UPDATE entries SET amount = 2 WHERE id = 1"));
            try (Connection ledger = pg.connect("ledger")) {
                awaitWaiting(ledger, w4, "transactionid");
            }

            m.poll();
            assertThat(m.evaluation("lock_wait", DB).orElseThrow().message())
                    .startsWith("3 sessions wait for a lock in database locks, the longest for ")
                    .contains("(pid " + w1.pid + ", on another transaction to end (a row it changed or locked, or a key it inserted))."
                            + " Root blocker: pid " + cart.pid
                            + " (user postgres, application 'cart', ",
                            "; it blocks 1 session directly and 2 in total, chain depth 2. ",
                            " Other root blockers: pid " + migration.pid + " (user postgres, application 'migration', idle"
                                    + " in transaction) blocks 1.")
                    .doesNotContain("pid " + posting.pid);
            assertThat(m.evaluation("lock_wait", "ledger").orElseThrow().message())
                    .startsWith("1 session waits for a lock in database ledger, the longest for ")
                    .contains("(pid " + w4.pid + ", on another transaction to end (a row it changed or locked, or a key it inserted))."
                            + " Root blocker: pid "
                            + posting.pid + " (user postgres, application 'posting', ")
                    .doesNotContain("Other root blockers", "pid " + cart.pid);
            assertThat(m.scrape()).contains("pg_connections_waiting_on_lock{datname=\"locks\"} 3.0\n",
                    "pg_connections_waiting_on_lock{datname=\"ledger\"} 1.0\n");

            cart.rollback();
            migration.rollback();
            posting.rollback();
            for (Future<?> f : done) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            pg.execute("DROP DATABASE IF EXISTS ledger WITH (FORCE)");
        }
    }

    /**
     * A server of its own: prepared transactions allowed, and autovacuum looking every second. A
     * prepared transaction is pid 0 to pg_blocking_pids(); pgvigil names it by its gid. An
     * autovacuum worker is not a client backend; pgvigil reads its row because it blocks one.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aPreparedTransactionOrAnAutovacuumWorkerAtTheHeadIsNamedForWhatItIs(int major) throws Exception {
        try (PgServer pg = PgServer.start(major, Map.of("max_prepared_transactions", "2", "autovacuum_naptime", "1s"))) {
            accounts(pg);
            try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect(DB);
                    Session batch = new Session(pg, "invoicing"); Session waiter = new Session(pg, "checkout");
                    Session ddl = new Session(pg, "migration")) {
                batch.begin();
                batch.execute("UPDATE accounts SET balance = 0 WHERE id = 3");
                batch.execute("PREPARE TRANSACTION 'invoice-batch-7'");
                batch.commit(); // back to autocommit; the prepared transaction lives on without a session
                Future<?> paid = waiter.start("UPDATE accounts SET balance = balance + 5 WHERE id = 3");
                awaitWaiting(admin, waiter, "transactionid");

                m.poll();
                Activity activity = m.last().snapshot().get(Activity.class).orElseThrow();
                assertThat(backend(activity, waiter.pid).blockedBy()).containsExactly(0);
                assertThat(backend(activity, waiter.pid).blockedByPrepared()).containsExactly("invoice-batch-7");
                assertThat(activity.prepared()).singleElement().satisfies(p -> {
                    assertThat(p.gid()).isEqualTo("invoice-batch-7");
                    assertThat(p.owner()).isEqualTo("postgres");
                    assertThat(p.database()).isEqualTo(DB);
                });
                assertThat(m.evaluation("lock_wait", DB).orElseThrow().message())
                        .contains("(pid " + waiter.pid + ", on another transaction to end (a row it changed or locked, or a key it inserted))."
                                + " Root blocker:"
                                + " prepared transaction 'invoice-batch-7' (owner postgres, database locks, prepared ",
                                "it blocks 1 session directly and 1 in total, chain depth 1.",
                                "COMMIT PREPARED 'invoice-batch-7' or ROLLBACK PREPARED 'invoice-batch-7' as its owner in"
                                        + " database locks");
                admin.createStatement().execute("ROLLBACK PREPARED 'invoice-batch-7'");
                paid.get(10, TimeUnit.SECONDS);
                m.poll();
                assertThat(m.evaluation("lock_wait", DB).orElseThrow().value()).isZero();
                assertThat(m.last().snapshot().get(Activity.class).orElseThrow().prepared()).isEmpty();

                // A vacuum slowed to a crawl, so that it still holds its lock when the migration asks for one.
                try (Statement st = admin.createStatement()) {
                    st.execute("CREATE TABLE big (id int, pad text) WITH (autovacuum_vacuum_cost_delay = 100,"
                            + " autovacuum_vacuum_cost_limit = 1, autovacuum_vacuum_threshold = 0,"
                            + " autovacuum_vacuum_scale_factor = 0)");
                    st.execute("INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
                    st.execute("DELETE FROM big WHERE id % 10 = 0");
                }
                int[] worker = new int[1];
                PgServer.await("an autovacuum worker works on table big", () -> {
                    worker[0] = intOr0(admin, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
                            + " AND query LIKE '%big%'");
                    return worker[0] != 0;
                });
                // Autovacuum gives way to a lock request only after the requester's deadlock_timeout.
                ddl.execute("SET deadlock_timeout = '60s'");
                ddl.begin();
                Future<?> locked = ddl.start("LOCK TABLE big IN SHARE UPDATE EXCLUSIVE MODE");
                awaitWaiting(admin, ddl, "relation");
                m.poll();
                activity = m.last().snapshot().get(Activity.class).orElseThrow();
                assertThat(activity.otherBackends()).extracting(Backend::pid, Backend::backendType)
                        .contains(org.assertj.core.groups.Tuple.tuple(worker[0], "autovacuum worker"));
                assertThat(backend(activity, ddl.pid).blockedBy()).contains(worker[0]);
                assertThat(activity.backends()).extracting(Backend::pid).doesNotContain(worker[0]);
                assertThat(m.evaluation("lock_wait", DB).orElseThrow().message())
                        .contains("(pid " + ddl.pid + ", on a table lock). Root blocker: pid " + worker[0]
                                + " (autovacuum worker, active for ", "query: autovacuum: VACUUM ",
                                "Autovacuum gives way to a lock request unless it runs to prevent wraparound");
                ddl.cancel();
                assertThatThrownBy(() -> locked.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class);
                ddl.rollback();
            }
        }
    }

    /**
     * The cost rule, on the collector's own SQL. EXPLAIN ANALYZE as pgvigil's role: with nobody
     * waiting the function scans of pg_locks and pg_prepared_xacts are never executed. And the same
     * SQL with pg_blocking_pids() swapped for a function that counts its calls: none with nobody
     * waiting, exactly one per waiting backend otherwise.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aPollWithNobodyWaitingCallsNoLockFunction(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        accounts(pg);
        String sql = major >= 14 ? StatActivityCollector.SQL_14 : StatActivityCollector.SQL_13;
        try (Connection monitor = java.sql.DriverManager.getConnection(pg.jdbcUrl(DB), PgServer.MONITOR_ROLE,
                PgServer.MONITOR_PASSWORD);
                Connection counting = pg.connect(DB); Connection admin = pg.connect(DB);
                Session a = new Session(pg, "holder"); Session b = new Session(pg, "waiter")) {
            assertThat(loops(monitor, sql)).containsEntry("pg_stat_get_activity", 1L)
                    .containsEntry("pg_lock_status", 0L).containsEntry("pg_prepared_xact", 0L);
            try (Statement st = counting.createStatement()) {
                st.execute("CREATE TEMP TABLE blocking_pids_calls (pid int)");
                st.execute("CREATE FUNCTION pg_temp.counted_blocking_pids(int) RETURNS int[] LANGUAGE sql VOLATILE AS"
                        + " 'INSERT INTO blocking_pids_calls VALUES ($1); SELECT pg_catalog.pg_blocking_pids($1)'");
            }
            String counted = sql.replace("pg_blocking_pids(pid)", "pg_temp.counted_blocking_pids(pid)");
            assertThat(counted).isNotEqualTo(sql);
            assertThat(calls(counting, counted)).isEmpty();

            a.begin();
            a.execute("SELECT 1 FROM accounts WHERE id = 1 FOR UPDATE");
            Future<?> bDone = b.start("UPDATE accounts SET balance = 1 WHERE id = 1");
            awaitWaiting(admin, b, "transactionid");
            assertThat(calls(counting, counted)).containsExactly(b.pid);
            // 14+ reads pg_locks for when the wait began; 13 has no waitstart and reads it only for a prepared holder.
            assertThat(loops(monitor, sql)).containsEntry("pg_lock_status", major >= 14 ? 1L : 0L)
                    .containsEntry("pg_prepared_xact", 0L);
            a.commit();
            bDone.get(10, TimeUnit.SECONDS);
        }
    }

    /** Function scan name → loops executed, from EXPLAIN (ANALYZE, FORMAT JSON) of {@code sql}. */
    private static Map<String, Long> loops(Connection c, String sql) throws Exception {
        Map<String, Long> loops = new java.util.TreeMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)) {
            rs.next();
            walk(new ObjectMapper().readTree(rs.getString(1)).get(0).get("Plan"), loops);
        }
        return loops;
    }

    private static void walk(JsonNode plan, Map<String, Long> loops) {
        if (plan.has("Function Name")) {
            loops.merge(plan.get("Function Name").asText(), plan.get("Actual Loops").asLong(), Long::sum);
        }
        if (plan.has("Plans")) {
            plan.get("Plans").forEach(p -> walk(p, loops));
        }
    }

    private static List<Integer> calls(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("TRUNCATE blocking_pids_calls");
            try (ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    rs.getObject(1);
                }
            }
            List<Integer> pids = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT pid FROM blocking_pids_calls ORDER BY pid")) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            return pids;
        }
    }

    static void accounts(PgServer pg) throws SQLException {
        pg.recreateDatabase(DB);
        try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)");
            st.execute("INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 3) g");
        }
    }

    private static Backend backend(Activity activity, int pid) {
        return activity.backends().stream().filter(b -> b.pid() == pid).findFirst()
                .orElseThrow(() -> new AssertionError("no backend " + pid + " in " + activity.backends()));
    }

    private static void awaitWaiting(Connection admin, Session s, String lockType) {
        awaitWait(admin, s, "Lock", lockType);
    }

    private static void awaitWait(Connection admin, Session s, String type, String event) {
        PgServer.await("pid " + s.pid + " waits on " + type + "/" + event, () -> (type + "/" + event).equals(
                text(admin, "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE pid = " + s.pid)));
    }

    private static void awaitState(Connection admin, Session s, String state) {
        PgServer.await("pid " + s.pid + " is " + state,
                () -> state.equals(text(admin, "SELECT state FROM pg_stat_activity WHERE pid = " + s.pid)));
    }

    private static String text(Connection c, String sql) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int intOr0(Connection c, String sql) {
        return Optional.ofNullable(text(c, sql)).map(Integer::valueOf).orElse(0);
    }

    /** Sleeps until {@code millis} after {@code since} (System.nanoTime()). */
    /** Polls (every 100 ms, for up to 10 s) until the lock_wait finding of DB has {@code severity}. */
    private static void pollUntil(TestMonitor m, Severity severity) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            m.poll();
            if (m.finding("lock_wait", DB).map(f -> f.severity() == severity).orElse(false)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("lock_wait in " + DB + " did not become " + severity + ": "
                        + m.evaluation("lock_wait", DB));
            }
            Thread.sleep(100);
        }
    }

    private static void sleepUntil(long since, long millis) throws InterruptedException {
        long left = millis - (System.nanoTime() - since) / 1_000_000;
        if (left > 0) {
            Thread.sleep(left);
        }
    }

    /**
     * A client session on a connection of its own (superuser, TCP like an application), with a
     * statement timeout; what blocks runs in its own thread. Closing cancels what still runs.
     */
    static final class Session implements AutoCloseable {
        final Connection connection;
        final int pid;
        /** "127.0.0.1:51234", as pg_stat_activity shows where it connects from. */
        final String client;
        private final ExecutorService thread = Executors.newSingleThreadExecutor();

        Session(PgServer pg, String application) throws SQLException {
            this(pg, DB, application);
        }

        Session(PgServer pg, String database, String application) throws SQLException {
            connection = pg.connect(database, application);
            execute("SET statement_timeout = '30s'");
            try (Statement st = connection.createStatement();
                    ResultSet rs = st.executeQuery("SELECT pg_backend_pid(), host(inet_client_addr()) || ':' || inet_client_port()")) {
                rs.next();
                pid = rs.getInt(1);
                client = rs.getString(2);
            }
        }

        void execute(String sql) throws SQLException {
            try (Statement st = connection.createStatement()) {
                st.execute(sql);
            }
        }

        void begin() throws SQLException {
            connection.setAutoCommit(false);
        }

        void commit() throws SQLException {
            connection.commit();
            connection.setAutoCommit(true);
        }

        void rollback() throws SQLException {
            connection.rollback();
            connection.setAutoCommit(true);
        }

        Future<?> start(String sql) {
            return thread.submit(() -> {
                execute(sql);
                return null;
            });
        }

        Future<?> start(SqlRunnable work) {
            return thread.submit(() -> {
                work.run();
                return null;
            });
        }

        /** Cancels the statement running now (the JDBC cancel request, as an application would). */
        void cancel() throws SQLException {
            connection.unwrap(PGConnection.class).cancelQuery();
        }

        @Override
        public void close() throws Exception {
            thread.shutdown();
            if (!thread.awaitTermination(100, TimeUnit.MILLISECONDS)) {
                cancel();
                thread.awaitTermination(10, TimeUnit.SECONDS);
            }
            connection.close();
        }
    }

    @FunctionalInterface
    interface SqlRunnable {
        void run() throws SQLException;
    }
}
