package io.pgvigil.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import io.pgvigil.plans.Plans;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * What plans cost the server at the rate limit: {@code tables} tables of 40,000 rows, each read by an
 * application statement filtering on a column no index serves, so that every one is flagged
 * (seq_scan_heavy) and wanted for a plan, with visits every second and {@code per-round} statements
 * planned per round. Prints the server time of pgvigil's planning statements (EXPLAIN, PREPARE,
 * DEALLOCATE, as pg_stat_statements counts them under pgvigil's role) per plan and per round, and the
 * JVM wall time of a poll with a planning round against one without.
 * Not a test: run {@code bench/run.sh PlansBench [major] [tables] [rounds]}.
 */
public final class PlansBench {

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int tables = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        try (PgServer pg = PgServer.start(major, Map.of())) {
            pg.execute("CREATE DATABASE bench");
            try (Connection c = pg.connect("bench"); Statement st = c.createStatement()) {
                for (int t = 0; t < tables; t++) {
                    st.execute("CREATE TABLE t" + t + " (id int PRIMARY KEY, k int NOT NULL, v text NOT NULL)");
                    st.execute("INSERT INTO t" + t + " SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 40000) g");
                    st.execute("GRANT SELECT ON t" + t + " TO " + PgServer.MONITOR_ROLE);
                }
                Thread.sleep(1500);
                st.execute("ANALYZE");
            }
            try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.indexes.interval", "1s", "pgvigil.databases.include",
                    "bench", "pgvigil.plans.enabled", "true", "pgvigil.plans.refresh", "1h")) {
                m.poll();
                pg.execute("SELECT pg_stat_statements_reset()");
                double withPlans = 0;
                int roundsWithPlans = 0;
                double without = 0;
                int roundsWithout = 0;
                int plannedBefore = 0;
                for (int r = 0; r < rounds; r++) {
                    try (Connection c = pg.connect("bench")) {
                        for (int t = 0; t < tables; t++) {
                            try (PreparedStatement st = c.prepareStatement("SELECT id, v FROM t" + t + " WHERE k = ?")) {
                                for (int i = 0; i < 6; i++) {
                                    st.setInt(1, i);
                                    st.executeQuery().close();
                                }
                            }
                        }
                    }
                    Thread.sleep(1100);
                    long start = System.nanoTime();
                    m.advance(Duration.ofMillis(1100)).poll();
                    double ms = (System.nanoTime() - start) / 1e6;
                    int planned = m.last().snapshot().get(Plans.class).orElse(Plans.OFF).plans().size();
                    if (planned > plannedBefore) {
                        withPlans += ms;
                        roundsWithPlans++;
                    } else {
                        without += ms;
                        roundsWithout++;
                    }
                    plannedBefore = planned;
                }
                try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("""
                                SELECT split_part(query, ' ', 1) AS kind, sum(calls)::int8 AS calls,
                                       sum(total_exec_time) AS ms, max(max_exec_time) AS max_ms
                                  FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                                 WHERE r.rolname = 'pgvigil' AND split_part(query, ' ', 1) IN ('EXPLAIN', 'PREPARE', 'DEALLOCATE')
                                 GROUP BY 1 ORDER BY 1""")) {
                    System.out.printf("PostgreSQL %d, %d flagged statements, %d rounds, per-round 3 (default)%n", major,
                            tables, rounds);
                    while (rs.next()) {
                        System.out.printf("  %-10s calls %4d  server %.2f ms total  %.3f ms mean  %.3f ms max%n",
                                rs.getString("kind"), rs.getLong("calls"), rs.getDouble("ms"),
                                rs.getDouble("ms") / Math.max(1, rs.getLong("calls")), rs.getDouble("max_ms"));
                    }
                }
                System.out.printf("  plans obtained: %d; poll wall time with a planning round %.1f ms (%d), without %.1f ms (%d)%n",
                        plannedBefore, withPlans / Math.max(1, roundsWithPlans), roundsWithPlans,
                        without / Math.max(1, roundsWithout), roundsWithout);
            }
        }
    }
}
