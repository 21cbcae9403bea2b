package io.pgvigil.databases;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.target.ServerInfo;
import io.pgvigil.core.Collector;

/**
 * Reads {@code pg_stat_database} (PostgreSQL 13-18, one query for all): cumulative transaction,
 * deadlock, temporary-file and block counters per database. The row for shared objects (datname
 * NULL) is left out. {@code stats_reset} lets the window tell a reset from real activity.
 *
 * <p>Series: {@code pg_stat_database_xact_commit_total}, {@code ..._xact_rollback_total},
 * {@code ..._deadlocks_total}, {@code ..._temp_files_total}, {@code ..._temp_bytes_total},
 * {@code ..._blks_hit_total}, {@code ..._blks_read_total} (all {datname}); interval ratios
 * {@code pg_stat_database_rollback_ratio} and {@code pg_stat_database_blks_hit_ratio}.
 */
@ApplicationScoped
public class StatDatabaseCollector implements Collector<StatDatabaseCollector.DatabaseStats> {

    public static final String KEY = "pg_stat_database";

    static final String SQL = """
            SELECT datid::int8 AS datid,
                   datname,
                   xact_commit,
                   xact_rollback,
                   deadlocks,
                   temp_files,
                   temp_bytes,
                   blks_hit,
                   blks_read,
                   extract(epoch FROM stats_reset)::float8 AS stats_reset_seconds
              FROM pg_stat_database
             WHERE datname IS NOT NULL
             ORDER BY datname
            """;

    /** Cumulative counters of one database since its statistics were last reset. */
    public record Database(long datid, String datname, long xactCommit, long xactRollback, long deadlocks,
            long tempFiles, long tempBytes, long blksHit, long blksRead, Double statsResetSeconds) {
    }

    public record DatabaseStats(List<Database> databases) {
        public DatabaseStats {
            databases = List.copyOf(databases);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<DatabaseStats> resultType() {
        return DatabaseStats.class;
    }

    @Override
    public DatabaseStats collect(Connection connection, ServerInfo server) throws SQLException {
        List<Database> rows = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                rows.add(new Database(rs.getLong("datid"), rs.getString("datname"), rs.getLong("xact_commit"),
                        rs.getLong("xact_rollback"), rs.getLong("deadlocks"), rs.getLong("temp_files"),
                        rs.getLong("temp_bytes"), rs.getLong("blks_hit"), rs.getLong("blks_read"),
                        rs.getObject("stats_reset_seconds", Double.class)));
            }
        }
        return new DatabaseStats(rows);
    }
}
