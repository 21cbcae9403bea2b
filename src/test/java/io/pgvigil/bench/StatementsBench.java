package io.pgvigil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Map;

import io.pgvigil.statements.StatStatementsCollector;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.Session;
import io.pgvigil.target.TargetConnector;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;

/**
 * What the pg_stat_statements collector costs with a full pg_stat_statements: 5,000 entries whose
 * texts are ~1 KiB each. Prints, per collection, the database time (pg_stat_statements' own
 * accounting of pgvigil's statement) and the JVM time (wall and CPU of the collecting thread), next
 * to a bare JDBC read of the same numeric columns of {@code pg_stat_statements(false)} and of
 * {@code SELECT * FROM pg_stat_statements}. Not a test: run {@code bench/run.sh StatementsBench [major] [entries] [rounds]}.
 */
public final class StatementsBench {

    static final String BARE_NUMERIC = """
            SELECT queryid, dbid, userid, toplevel, calls, total_exec_time, total_plan_time, rows,
                   shared_blks_hit, shared_blks_read, temp_blks_written
              FROM pg_stat_statements(false)""";

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int entries = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        try (PgServer pg = PgServer.start(major, Map.of("pg_stat_statements.max", Integer.toString(entries * 2)))) {
            fill(pg, entries);
            var config = TestConfig.forServer(pg);
            StatStatementsCollector collector = new StatStatementsCollector(config);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            try (Session session = new TargetConnector(config).open()) {
                Connection c = session.connection();
                ServerInfo server = session.serverInfo();
                long t0 = System.nanoTime();
                Statements first = collector.collect(c, server);
                c.commit();
                System.out.printf("PostgreSQL %s, %d entries (%d KiB of text), %d rounds%n", server.version(),
                        first.entries().size(), first.entries().stream().mapToInt(t -> t.text() == null ? 0 : t.text().length()).sum() / 1024,
                        rounds);
                System.out.printf("first collection (reads every text once): %.1f ms%n", (System.nanoTime() - t0) / 1e6);
                // pgvigil's own entries are reset so that the server-side numbers below cover the measured rounds only
                // (the reset statement is itself new: the warm-up reads its text).
                pg.execute("SELECT pg_stat_statements_reset(" + server.userOid() + "::oid)");
                for (int i = 0; i < 5; i++) {
                    collector.collect(c, server);
                    c.commit();
                }
                Statements warm = collector.collect(c, server);
                c.commit();
                // Interleaved, so that drift in the machine's load hits the collector and the floor alike.
                double[] wall = new double[rounds];
                double[] cpu = new double[rounds];
                double[] bareNumeric = new double[rounds];
                double[] bareView = new double[rounds / 10];
                Statements last = null;
                for (int i = 0; i < rounds; i++) {
                    long w = System.nanoTime();
                    long u = threads.getCurrentThreadCpuTime();
                    last = collector.collect(c, server);
                    cpu[i] = (threads.getCurrentThreadCpuTime() - u) / 1e6;
                    wall[i] = (System.nanoTime() - w) / 1e6;
                    c.commit();
                    bareNumeric[i] = bare(c, BARE_NUMERIC);
                    if (i % 10 == 0) {
                        bareView[i / 10] = bare(c, "SELECT * FROM pg_stat_statements");
                    }
                }
                System.out.printf("text fetches in the %d measured rounds: %d%n", rounds,
                        last.textFetches() - warm.textFetches());
                System.out.printf("%n%-58s %9s %9s%n", "client-observed (ms)", "median", "p90");
                print("collector (statistics + info, no text), wall", wall);
                print("collector, CPU of the JVM thread", cpu);
                print("bare JDBC: numeric columns of pg_stat_statements(false)", bareNumeric);
                print("bare JDBC: SELECT * FROM pg_stat_statements (view)", bareView);
                printServerSide(pg, server.userOid(), rounds, 80);
            }
        }
    }

    /** Entries with distinct shapes (the operators spell the number in binary) and ~1 KiB of text each. */
    static void fill(PgServer pg, int entries) throws Exception {
        pg.execute("DROP ROLE IF EXISTS app", "CREATE ROLE app LOGIN");
        String padding = "/* " + "x".repeat(900) + " */ ";
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("SET ROLE app");
            for (int i = 0; i < entries; i++) {
                StringBuilder sql = new StringBuilder(padding).append("SELECT 1");
                for (int bit = 0; bit < 14; bit++) {
                    sql.append((i >> bit & 1) == 1 ? " + " : " - ").append(bit + 2);
                }
                st.execute(sql.toString());
            }
        }
    }

    /** One bare read: every row, every column fetched as the driver gives it. */
    static double bare(Connection c, String sql) throws Exception {
        long start = System.nanoTime();
        try (PreparedStatement st = c.prepareStatement(sql.replace("pg_stat_statements", "public.pg_stat_statements"));
                ResultSet rs = st.executeQuery()) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                for (int i = 1; i <= columns; i++) {
                    rs.getObject(i);
                }
            }
        }
        c.commit();
        return (System.nanoTime() - start) / 1e6;
    }

    /** pg_stat_statements' own accounting of pgvigil's statements that ran at least {@code minCalls} times. */
    static void printServerSide(PgServer pg, long userOid, int minCalls, int textWidth) throws Exception {
        System.out.printf("%nserver-side (pg_stat_statements of role pgvigil), ms per call:%n");
        try (Connection admin = pg.connect("postgres"); Statement st = admin.createStatement();
                ResultSet rs = st.executeQuery("""
                        SELECT calls, round(mean_exec_time::numeric, 2), left(regexp_replace(query, '\\s+', ' ', 'g'), %d)
                          FROM pg_stat_statements WHERE userid = %d AND calls >= %d ORDER BY mean_exec_time DESC
                        """.formatted(textWidth, userOid, minCalls))) {
            while (rs.next()) {
                System.out.printf("  %5d calls %8s ms  %s%n", rs.getLong(1), rs.getString(2), rs.getString(3));
            }
        }
    }

    static void print(String name, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.printf("%-58s %9.2f %9.2f%n", name, sorted[sorted.length / 2], sorted[(int) (sorted.length * 0.9)]);
    }
}
