package io.pgvigil.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * What the lock-wait part of the pg_stat_activity collector costs: 151 client backends (pgvigil's and
 * 150 others, 5 of them holding a row lock idle in transaction), first with nobody waiting, then with
 * 20 sessions queued behind those 5 rows. For each: the collector's client-observed time over
 * {@code rounds} polls of the production pipeline, and the server-side execution time of its
 * statement from pg_stat_statements; next to them the collector's statement before issue 14 (one
 * row per client backend, no wait events, no pg_blocking_pids()), read the same way. Not a test: run
 * it with {@code bench/run.sh LockWaitBench}; it prints numbers.
 *
 * <p>Arguments: major (default 18), rounds (default 1000).
 */
public final class LockWaitBench {

    /** StatActivityCollector.SQL as it was before issue 14: the baseline. */
    static final String BEFORE = """
            SELECT pid,
                   datname,
                   usename,
                   application_name,
                   state,
                   wait_event_type = 'Lock' AS waiting_on_lock,
                   CASE WHEN xact_start IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - xact_start))::float8 END AS xact_age_seconds,
                   CASE WHEN state_change IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - state_change))::float8 END AS state_age_seconds,
                   CASE WHEN row_number() OVER (ORDER BY pid = pg_backend_pid(), xact_start NULLS LAST) = 1
                        THEN left(query, 200) END AS query
              FROM pg_stat_activity
             WHERE backend_type = 'client backend'
            """;

    static final int CLIENTS = 150;
    static final int HOLDERS = 5;
    static final int WAITERS = 20;

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 18;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        try (PgServer pg = PgServer.start(major, Map.of("max_connections", "200", "pg_stat_statements.track", "all"))) {
            pg.execute("CREATE DATABASE bench");
            try (Connection c = pg.connect("bench"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE items (id int PRIMARY KEY, n int)");
                st.execute("INSERT INTO items SELECT g, 0 FROM generate_series(1, " + HOLDERS + ") g");
            }
            List<Connection> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(pg.connect("bench", i < HOLDERS ? "bench-holder" : "bench-client"));
            }
            for (int i = 0; i < HOLDERS; i++) {
                Connection holder = clients.get(i);
                holder.setAutoCommit(false);
                holder.createStatement().execute("SELECT n FROM items WHERE id = " + (i + 1) + " FOR UPDATE");
            }
            System.out.printf("PostgreSQL %d, %d client backends (pgvigil's and %d others, %d holding a row lock idle"
                    + " in transaction), %d polls per case%n%n", major, CLIENTS + 1, CLIENTS, HOLDERS, rounds);
            System.out.printf("%-58s %9s %9s %9s%n", "", "median", "p99", "server");
            try (TestMonitor m = TestMonitor.watching(pg);
                    Connection baseline = DriverManager.getConnection(pg.jdbcUrl("postgres"), PgServer.MONITOR_ROLE,
                            PgServer.MONITOR_PASSWORD)) {
                measure(pg, m, baseline, rounds, "nobody waiting");

                ExecutorService threads = Executors.newFixedThreadPool(WAITERS);
                List<Future<?>> queued = new ArrayList<>();
                for (int i = 0; i < WAITERS; i++) {
                    Connection waiter = clients.get(HOLDERS + i);
                    int row = i % HOLDERS + 1;
                    waiter.createStatement().execute("SET statement_timeout = '10min'");
                    queued.add(threads.submit(() -> {
                        waiter.createStatement().execute("UPDATE items SET n = n + 1 WHERE id = " + row);
                        return null;
                    }));
                }
                try (Connection admin = pg.connect("postgres")) {
                    PgServer.await(WAITERS + " sessions wait on a lock", () -> count(admin,
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") == WAITERS);
                }
                measure(pg, m, baseline, rounds, WAITERS + " waiting");

                for (int i = 0; i < HOLDERS; i++) {
                    clients.get(i).rollback();
                }
                for (Future<?> f : queued) {
                    f.get();
                }
                threads.shutdown();
            }
            for (Connection c : clients) {
                c.close();
            }
        }
    }

    /** The collector through {@code rounds} polls, then the old statement as often, with their server time. */
    private static void measure(PgServer pg, TestMonitor m, Connection baseline, int rounds, String label)
            throws Exception {
        for (int i = 0; i < 50; i++) {
            m.poll(); // warm-up: JIT, prepared statements
            run(baseline, BEFORE);
        }
        pg.execute("SELECT pg_stat_statements_reset()");
        double[] collector = new double[rounds];
        double[] before = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            PollState s = m.poll();
            collector[i] = s.collectors().stream().filter(c -> c.collector().equals("pg_stat_activity"))
                    .mapToDouble(CollectorStatus::durationSeconds).findFirst().orElseThrow() * 1000;
            long start = System.nanoTime();
            run(baseline, BEFORE);
            before[i] = (System.nanoTime() - start) / 1e6;
        }
        try (Connection c = pg.connect("postgres")) {
            print("pg_stat_activity collector, " + label, collector,
                    serverMs(c, "WITH activity AS MATERIALIZED%"));
            print("statement before issue 14, " + label, before, serverMs(c, "SELECT pid,%"));
        }
    }

    /** As the collector runs its statement: prepared (pgjdbc prepares it on the server from the fifth run). */
    private static void run(Connection c, String sql) throws Exception {
        try (var st = c.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                rs.getObject(1);
            }
        }
    }

    /** Mean execution time of pgvigil's role's statement whose text is like {@code pattern}, in ms. */
    private static double serverMs(Connection c, String pattern) throws Exception {
        try (var st = c.prepareStatement("""
                SELECT sum(total_exec_time) / sum(calls) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                 WHERE r.rolname = 'pgvigil' AND s.query LIKE ? AND s.query LIKE '%pg_stat_activity%'""")) {
            st.setString(1, pattern);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getDouble(1);
            }
        }
    }

    private static long count(Connection c, String sql) {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void print(String name, double[] ms, double serverMs) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.printf("%-58s %9.3f %9.3f %9.3f%n", name, sorted[sorted.length / 2],
                sorted[(int) (sorted.length * 0.99)], serverMs);
    }
}
