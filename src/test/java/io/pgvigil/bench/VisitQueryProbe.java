package io.pgvigil.bench;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Map;

import io.pgvigil.relations.RelationsCollector;
import io.pgvigil.testing.DebianPostgres;

/**
 * Server-side cost of the visit's index query on a database of many indexes (Debian's PostgreSQL 15),
 * as it is and with variants of the session's stats_fetch_consistency, to decide where a visit's
 * server time goes; and the queries of a visit that finds the definitions unchanged (the catalog probe and
 * the statistics alone). Not a test: {@code bench/run.sh VisitQueryProbe [tables=2500] [indexes=10000] [rounds=20]}.
 */
public final class VisitQueryProbe {

    public static void main(String[] args) throws Exception {
        int tables = args.length > 0 ? Integer.parseInt(args[0]) : 2500;
        int indexes = args.length > 1 ? Integer.parseInt(args[1]) : 10000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        String indexesSql = (String) sql("indexesSql").invoke(null, 150000);
        String statisticsSql = (String) sql("indexStatisticsSql").invoke(null, 150000);
        var probe = RelationsCollector.class.getDeclaredField("CATALOG_PROBE_SQL");
        probe.setAccessible(true);
        String probeSql = ((String) probe.get(null)).replace("?::int8", "1000::int8");
        String tablesSql = RelationsCollector.tablesSql(150000);
        try (DebianPostgres pg = DebianPostgres.initdb().start(Map.of("shared_preload_libraries", "pg_stat_statements",
                "max_locks_per_transaction", "256"))) {
            SideBySideBench.build(pg, new SideBySideBench.Options(10, tables, indexes, 1, 1, 1, 1, 1, 1, 1, 4,
                    java.util.List.of(""), true, true));
            try (Connection c = pg.connect("bench"); Statement st = c.createStatement()) {
                st.execute("SET jit = off"); // as pgvigil's sessions (TargetConnector)
                for (String consistency : new String[] {"cache", "snapshot", "none", "cache"}) {
                    st.execute("SET stats_fetch_consistency = " + consistency);
                    System.out.printf("stats_fetch_consistency=%-8s indexes: %s   tables: %s%n", consistency,
                            time(c, indexesSql, rounds), time(c, tablesSql, rounds));
                }
                st.execute("RESET stats_fetch_consistency");
                System.out.printf("indexes, catalog part only (no pg_stat_get_*): %s%n", time(c, indexesSql
                        .replaceAll("pg_stat_get_[a-z_]+\\(i\\.indexrelid\\)", "0::int8"), rounds));
                // What a visit reads since the definitions are cached: the probe, and the statistics when it saw no change.
                for (int i = 0; i < 2; i++) {
                    System.out.printf("definitions with statistics (a visit after a change): %s%n", time(c, indexesSql, rounds));
                    System.out.printf("statistics only (a visit after none): %s%n", time(c, statisticsSql, rounds));
                    System.out.printf("catalog probe (every visit): %s%n", time(c, probeSql, rounds));
                }
            }
        }
    }

    private static java.lang.reflect.Method sql(String name) throws NoSuchMethodException {
        var m = RelationsCollector.class.getDeclaredMethod(name, int.class);
        m.setAccessible(true);
        return m;
    }

    /** Client-observed time of one read over loopback (the server's work plus the rows' transfer): median, min. */
    static String time(Connection c, String sql, int rounds) throws Exception {
        double[] ms = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            long wall = System.nanoTime();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    rs.getObject(1);
                }
            }
            c.commit();
            c.setAutoCommit(true);
            ms[i] = (System.nanoTime() - wall) / 1e6;
        }
        Arrays.sort(ms);
        return String.format("wall median %.1f ms, min %.1f ms", ms[rounds / 2], ms[0]);
    }
}
