package io.pgvigil.vacuum;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;

/**
 * Reads {@code pg_stat_progress_vacuum} (PostgreSQL 13-18), with {@code pg_stat_progress_cluster}
 * (VACUUM FULL, CLUSTER) and {@code pg_stat_progress_analyze}: which tables are being vacuumed or
 * analyzed right now and by whom. An autovacuum worker is told apart by its backend type, read with
 * {@code pg_stat_get_activity(pid)} for those few backends only (never the whole of
 * pg_stat_activity). A worker is counted busy while it vacuums or analyzes a table; the moments it
 * spends between two tables are not seen. It also reads the autovacuum settings those numbers are
 * judged against ({@code current_setting()}; {@code autovacuum_vacuum_max_threshold} exists from 18).
 * Two small queries; nothing is read per table. On a standby the views are empty (autovacuum does
 * not run there).
 *
 * <p>Series: {@code pgvigil_autovacuum_workers{datname}}, {@code pg_settings_autovacuum_max_workers}.
 */
@ApplicationScoped
public class ProgressVacuumCollector implements Collector<ProgressVacuumCollector.Autovacuum> {

    public static final String KEY = "pg_stat_progress_vacuum";

    static final String SETTINGS_SQL = """
            SELECT current_setting('autovacuum')::bool AS autovacuum,
                   current_setting('track_counts')::bool AS track_counts,
                   current_setting('autovacuum_max_workers')::int AS max_workers,
                   current_setting('autovacuum_vacuum_threshold')::int8 AS vacuum_threshold,
                   current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale_factor,
                   current_setting('autovacuum_vacuum_max_threshold', true)::int8 AS vacuum_max_threshold
            """;

    static final String PROGRESS_SQL = """
            SELECT p.pid, p.datname, p.relid::int8 AS relid, 'VACUUM' AS command, p.phase,
                   a.backend_type = 'autovacuum worker' AS autovacuum
              FROM pg_stat_progress_vacuum p
              LEFT JOIN LATERAL pg_stat_get_activity(p.pid) a ON true
            UNION ALL
            SELECT p.pid, p.datname, p.relid::int8, p.command, p.phase,
                   a.backend_type = 'autovacuum worker'
              FROM pg_stat_progress_cluster p
              LEFT JOIN LATERAL pg_stat_get_activity(p.pid) a ON true
            UNION ALL
            SELECT p.pid, p.datname, p.relid::int8, 'ANALYZE', p.phase,
                   a.backend_type = 'autovacuum worker'
              FROM pg_stat_progress_analyze p
              LEFT JOIN LATERAL pg_stat_get_activity(p.pid) a ON true
            """;

    /**
     * The server's autovacuum settings (a table's own storage parameters override the vacuum ones).
     *
     * @param autovacuum         {@code autovacuum}: off stops every autovacuum but the anti-wraparound ones
     * @param trackCounts        {@code track_counts}: autovacuum needs it to know what to vacuum
     * @param vacuumMaxThreshold {@code autovacuum_vacuum_max_threshold} (18+; -1 for none), null before 18
     */
    public record Settings(boolean autovacuum, boolean trackCounts, int maxWorkers, long vacuumThreshold,
            double vacuumScaleFactor, Long vacuumMaxThreshold) {
    }

    /**
     * A VACUUM, VACUUM FULL, CLUSTER or ANALYZE in progress.
     *
     * @param datname    its database (null if dropped meanwhile)
     * @param command    {@code VACUUM}, {@code VACUUM FULL}, {@code CLUSTER} or {@code ANALYZE}
     * @param autovacuum run by an autovacuum worker
     */
    public record Running(int pid, String datname, long relid, String command, String phase, boolean autovacuum) {

        /** Whether it removes dead rows from its table (ANALYZE does not). */
        public boolean cleans() {
            return !command.equals("ANALYZE");
        }
    }

    public record Autovacuum(Settings settings, List<Running> running) {

        public Autovacuum {
            running = List.copyOf(running);
        }

        /** Autovacuum workers vacuuming or analyzing a table, per database. */
        public Map<String, Integer> workersByDatabase() {
            Map<String, Set<Integer>> pids = new HashMap<>();
            running.stream().filter(r -> r.autovacuum() && r.datname() != null)
                    .forEach(r -> pids.computeIfAbsent(r.datname(), k -> new HashSet<>()).add(r.pid()));
            Map<String, Integer> counts = new HashMap<>();
            pids.forEach((db, set) -> counts.put(db, set.size()));
            return counts;
        }

        /** Autovacuum workers vacuuming or analyzing a table, in all databases. */
        public int workers() {
            return (int) running.stream().filter(Running::autovacuum).mapToInt(Running::pid).distinct().count();
        }

        /** The VACUUM (or VACUUM FULL, CLUSTER) running on a table, if any. */
        public Optional<Running> cleaning(String datname, long relid) {
            return running.stream().filter(r -> r.cleans() && r.relid() == relid && datname.equals(r.datname()))
                    .findFirst();
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Autovacuum> resultType() {
        return Autovacuum.class;
    }

    @Override
    public Autovacuum collect(Connection connection, ServerInfo server) throws SQLException {
        Settings settings;
        try (PreparedStatement st = connection.prepareStatement(SETTINGS_SQL); ResultSet rs = st.executeQuery()) {
            rs.next();
            settings = new Settings(rs.getBoolean("autovacuum"), rs.getBoolean("track_counts"),
                    rs.getInt("max_workers"), rs.getLong("vacuum_threshold"), rs.getDouble("vacuum_scale_factor"),
                    rs.getObject("vacuum_max_threshold", Long.class));
        }
        List<Running> running = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(PROGRESS_SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                running.add(new Running(rs.getInt("pid"), rs.getString("datname"), rs.getLong("relid"),
                        rs.getString("command"), rs.getString("phase"), rs.getBoolean("autovacuum")));
            }
        }
        return new Autovacuum(settings, running);
    }
}
