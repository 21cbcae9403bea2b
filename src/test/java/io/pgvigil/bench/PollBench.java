package io.pgvigil.bench;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * What one poll costs: the client-observed time of each collector and of the whole poll, the
 * server-side execution time of each of pgvigil's queries (from pg_stat_statements), and the heap
 * after GC before and after. Not a test: run it with {@code bench/run.sh PollBench}; it prints numbers.
 *
 * <p>Arguments: major (default 18), polls (default 2000), idle clients (default 150), databases (default 20).
 */
public final class PollBench {

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 18;
        int polls = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
        int clients = args.length > 2 ? Integer.parseInt(args[2]) : 150;
        int databases = args.length > 3 ? Integer.parseInt(args[3]) : 20;
        try (PgServer pg = PgServer.start(major, Map.of("max_connections", Integer.toString(clients + 20),
                "pg_stat_statements.track", "all"))) {
            for (int i = 0; i < databases; i++) {
                pg.execute("CREATE DATABASE bench_" + i);
            }
            List<Connection> idle = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                idle.add(pg.connect("bench_" + (i % databases), "bench-client"));
            }
            System.out.printf("PostgreSQL %d, %d idle client connections, %d databases, %d polls%n",
                    major, clients, databases + 3, polls);
            try (TestMonitor m = TestMonitor.watching(pg)) {
                for (int i = 0; i < 100; i++) {
                    m.poll(); // warm-up: JIT, prepared statements
                }
                long heapBefore = heapAfterGc();
                pg.execute("SELECT pg_stat_statements_reset()");
                double[] pollMs = new double[polls];
                Map<String, double[]> collectorMs = new HashMap<>();
                for (int i = 0; i < polls; i++) {
                    PollState s = m.poll();
                    pollMs[i] = s.durationSeconds() * 1000;
                    for (CollectorStatus c : s.collectors()) {
                        if (c.durationSeconds() == null) {
                            continue; // off on this server (the WAL receiver on a primary)
                        }
                        collectorMs.computeIfAbsent(c.collector(), k -> new double[polls])[i] = c.durationSeconds() * 1000;
                    }
                }
                long heapAfter = heapAfterGc();
                Map<String, double[]> bareMs = bareReads(pg, polls);
                System.out.printf("%-40s %9s %9s %9s%n", "client-observed (ms)", "median", "p99", "max");
                print("whole poll", pollMs);
                collectorMs.forEach(PollBench::print);
                bareMs.forEach(PollBench::print);
                System.out.printf("%nserver-side, pg_stat_statements of role pgvigil (ms per call):%n");
                try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("""
                                SELECT calls, round(mean_exec_time::numeric, 3) AS mean_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q
                                  FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                                 WHERE r.rolname = 'pgvigil' AND calls >= %d
                                 ORDER BY mean_exec_time DESC""".formatted(polls))) {
                    while (rs.next()) {
                        System.out.printf("  %6d calls %8s ms  %s%n", rs.getLong(1), rs.getString(2), rs.getString(3));
                    }
                }
                System.out.printf("%nheap after GC: %.1f MiB after warm-up, %.1f MiB after %d polls%n",
                        heapBefore / 1048576.0, heapAfter / 1048576.0, polls);
            }
            for (Connection c : idle) {
                c.close();
            }
        }
    }

    /** The floor: the same views read with plain JDBC, SELECT * and nothing else, as pgvigil's role. */
    private static Map<String, double[]> bareReads(PgServer pg, int n) throws Exception {
        Map<String, double[]> ms = new java.util.LinkedHashMap<>();
        try (Connection c = java.sql.DriverManager.getConnection(pg.jdbcUrl("postgres"), PgServer.MONITOR_ROLE,
                PgServer.MONITOR_PASSWORD)) {
            List<String> views = new ArrayList<>(List.of("pg_stat_activity", "pg_stat_database", "pg_stat_bgwriter"));
            int major = pg.major();
            if (major >= 17) {
                views.add("pg_stat_checkpointer");
            }
            if (major >= 14) {
                views.add("pg_stat_wal");
            }
            if (major >= 16) {
                views.add("pg_stat_io");
            }
            for (String view : views) {
                double[] times = new double[n];
                for (int i = 0; i < n + 100; i++) {
                    long start = System.nanoTime();
                    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM " + view)) {
                        while (rs.next()) {
                            rs.getObject(1);
                        }
                    }
                    if (i >= 100) {
                        times[i - 100] = (System.nanoTime() - start) / 1e6;
                    }
                }
                ms.put("bare SELECT * FROM " + view, times);
            }
        }
        return ms;
    }

    private static void print(String name, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.printf("%-40s %9.3f %9.3f %9.3f%n", name, sorted[sorted.length / 2],
                sorted[(int) (sorted.length * 0.99)], sorted[sorted.length - 1]);
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
