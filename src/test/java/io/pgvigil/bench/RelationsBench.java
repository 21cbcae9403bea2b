package io.pgvigil.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

import io.pgvigil.relations.RelationsCollector;
import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.Session;
import io.pgvigil.target.TargetConnector;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;

/**
 * What one database visit costs in a database with 2,500 tables and 10,000 indexes (a primary key
 * and three secondary indexes per table). Prints the index/table collection (database time from
 * pg_stat_statements, JVM wall and CPU time, connections held) next to a bare JDBC read of the
 * views the same numbers come from. Not a test: run {@code bench/run.sh RelationsBench [major] [tables] [rounds]}.
 */
public final class RelationsBench {

    /** The same information through the standard views, every column fetched: the floor pgvigil is held to. */
    static final String[] BARE = {
        "SELECT * FROM pg_index",
        "SELECT * FROM pg_stat_user_indexes",
        "SELECT * FROM pg_statio_user_indexes",
        "SELECT * FROM pg_stat_user_tables"};

    /**
     * The table query as it was before issue 14 added dead rows, reltuples, reloptions, last (auto)vacuum,
     * heap blocks, freeze ages with the TOAST join, and the catalogs' and temporary tables' rows: the
     * A of an interleaved A/B against {@link RelationsCollector#tablesSql}.
     */
    static final String TABLES_SQL_BEFORE_ISSUE_14 = """
            SELECT c.oid::int8 AS relid,
                   n.nspname AS schemaname,
                   c.relname AS tablename,
                   c.relpages::int8 AS relpages,
                   pg_stat_get_live_tuples(c.oid) AS n_live_tup,
                   pg_stat_get_numscans(c.oid) AS seq_scan,
                   pg_stat_get_tuples_returned(c.oid) AS seq_tup_read,
                   pg_stat_get_tuples_inserted(c.oid) AS n_tup_ins,
                   pg_stat_get_tuples_updated(c.oid) AS n_tup_upd,
                   pg_stat_get_tuples_hot_updated(c.oid) AS n_tup_hot_upd,
                   pg_stat_get_tuples_deleted(c.oid) AS n_tup_del,
                   %s AS last_seq_scan
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_toast'
               AND c.relpersistence <> 't'
            """;

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        int tables = args.length > 1 ? Integer.parseInt(args[1]) : 2500;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
        try (PgServer pg = PgServer.start(major, Map.of())) {
            long t0 = System.nanoTime();
            fill(pg, tables);
            System.out.printf("schema of %d tables built in %.0f s%n", tables, (System.nanoTime() - t0) / 1e9);
            var config = TestConfig.forServer(pg);
            TargetConnector connector = new TargetConnector(config);
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            try (Session main = connector.open()) {
                ServerInfo server = main.serverInfo();
                main.connection().commit();
                pg.execute("SELECT pg_stat_statements_reset()");
                double[] wall = new double[rounds];
                double[] cpu = new double[rounds];
                double[] visit = new double[rounds];
                double[] bare = new double[rounds];
                double[] bareJoin = new double[rounds];
                double[] tablesBefore = new double[rounds];
                double[] tablesAfter = new double[rounds];
                String before = TABLES_SQL_BEFORE_ISSUE_14.formatted(server.versionNum() >= 160000
                        ? "extract(epoch FROM pg_stat_get_lastscan(c.oid))::float8" : "NULL::float8");
                String after = RelationsCollector.tablesSql(server.versionNum());
                DatabaseRelations last = null;
                RelationsCollector collector = new RelationsCollector();
                int sessions = 0;
                for (int i = -3; i < rounds; i++) {
                    // A visit as DatabaseVisitor makes it: open the visit session, read, close.
                    long v = System.nanoTime();
                    long w;
                    long u;
                    try (Session s = connector.openVisit("many")) {
                        w = System.nanoTime();
                        u = threads.getCurrentThreadCpuTime();
                        last = collector.collect(s.connection(), server.versionNum(), server.blockSize());
                        double c = (threads.getCurrentThreadCpuTime() - u) / 1e6;
                        double ms = (System.nanoTime() - w) / 1e6;
                        s.connection().commit();
                        try (Connection admin = pg.connect("postgres")) {
                            sessions = (int) pg.queryLong(admin,
                                    "SELECT count(*) FROM pg_stat_activity WHERE usename = ?", PgServer.MONITOR_ROLE);
                        }
                        if (i >= 0) {
                            wall[i] = ms;
                            cpu[i] = c;
                        }
                    }
                    if (i >= 0) {
                        visit[i] = (System.nanoTime() - v) / 1e6;
                    }
                    try (Session s = connector.openVisit("many")) {
                        double sum = 0;
                        for (String sql : BARE) {
                            sum += StatementsBench.bare(s.connection(), sql);
                        }
                        double join = StatementsBench.bare(s.connection(),
                                "SELECT * FROM pg_stat_user_indexes JOIN pg_statio_user_indexes USING (indexrelid)");
                        // The table query before and after issue 14, every column fetched, in alternating order.
                        double a;
                        double b;
                        if ((i & 1) == 0) {
                            a = StatementsBench.bare(s.connection(), before);
                            b = StatementsBench.bare(s.connection(), after);
                        } else {
                            b = StatementsBench.bare(s.connection(), after);
                            a = StatementsBench.bare(s.connection(), before);
                        }
                        if (i >= 0) {
                            bare[i] = sum;
                            bareJoin[i] = join;
                            tablesBefore[i] = a;
                            tablesAfter[i] = b;
                        }
                    }
                }
                System.out.printf("PostgreSQL %s: %d indexes, %d tables, %d rounds; pgvigil sessions open during a"
                        + " visit: %d (main + visit)%n", server.version(), last.indexes().size(), last.tables().size(),
                        rounds, sessions);
                System.out.printf("column-name lookups: %d (the first collection; cached by oid afterwards); definitions"
                        + " read by %d of %d collections (the others found the catalog unchanged)%n",
                        collector.nameLookups(), collector.definitionReads(), rounds + 3);
                System.out.printf("%n%-62s %9s %9s%n", "client-observed (ms)", "median", "p90");
                StatementsBench.print("collection (indexes + tables queries), wall", wall);
                StatementsBench.print("collection, CPU of the JVM thread", cpu);
                StatementsBench.print("whole visit: connect, session settings, collect, close", visit);
                StatementsBench.print("bare JDBC: pg_index + 3 views (SELECT *), summed", bare);
                StatementsBench.print("bare JDBC: pg_stat_user_indexes JOIN pg_statio_user_indexes", bareJoin);
                StatementsBench.print("table query before issue 14 (every column)", tablesBefore);
                StatementsBench.print("table query with issue 14's columns (every column)", tablesAfter);
                StatementsBench.printServerSide(pg, server.userOid(), rounds, 110);
            }
        }
    }

    /** {@code tables} tables with a primary key, three secondary indexes and 20 rows each, scanned a little. */
    static void fill(PgServer pg, int tables) throws Exception {
        pg.recreateDatabase("many");
        try (Connection c = pg.connect("many"); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int i = 0; i < tables; i++) {
                String t = "t" + i;
                st.execute("CREATE TABLE " + t + " (id int PRIMARY KEY, a int, b int, c text)");
                st.execute("CREATE INDEX " + t + "_a ON " + t + " (a)");
                st.execute("CREATE INDEX " + t + "_ab ON " + t + " (a, b)");
                st.execute("CREATE INDEX " + t + "_c ON " + t + " (c)");
                st.execute("INSERT INTO " + t + " SELECT g, g % 5, g, 'x' || g FROM generate_series(1, 20) g");
                if (i % 100 == 99) {
                    c.commit();
                }
            }
            c.commit();
            c.setAutoCommit(true);
            st.execute("VACUUM ANALYZE");
            for (int i = 0; i < tables; i += 3) {
                st.execute("SELECT count(*) FROM t" + i + " WHERE id = 3");
            }
        }
    }
}
