package io.pgvigil.checkpoints;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;

/**
 * Reads {@code pg_stat_wal} (PostgreSQL 14+; off on 13, which does not have it): WAL records,
 * full-page images, bytes and the times the WAL buffers were full, cumulative since
 * {@code stats_reset}. On 14-17 the view also counts the WAL writes and syncs (and their times when
 * {@code track_wal_io_timing} is on); PostgreSQL 18 moved those to {@code pg_stat_io} (object
 * {@code wal}), so they are null there.
 *
 * <p>Series: {@code pg_wal_records_total}, {@code pg_wal_fpi_total}, {@code pg_wal_bytes_total},
 * {@code pg_wal_buffers_full_total}, and on 14-17 {@code pg_wal_writes_total},
 * {@code pg_wal_syncs_total}, {@code pg_wal_write_seconds_total}, {@code pg_wal_sync_seconds_total}.
 */
@ApplicationScoped
public class StatWalCollector implements Collector<StatWalCollector.Wal> {

    public static final String KEY = "pg_stat_wal";

    /** PostgreSQL 14-17: writes and syncs too. */
    static final String COLUMNS_14 = """
            wal_write AS writes, wal_sync AS syncs,
                   wal_write_time / 1000.0 AS write_seconds, wal_sync_time / 1000.0 AS sync_seconds""";

    /** PostgreSQL 18+: writes and syncs are in pg_stat_io. */
    static final String COLUMNS_18 = """
            NULL::int8 AS writes, NULL::int8 AS syncs, NULL::float8 AS write_seconds, NULL::float8 AS sync_seconds""";

    /** %s: the version's columns. */
    static final String SQL = """
            SELECT wal_records, wal_fpi, wal_bytes::int8 AS wal_bytes, wal_buffers_full,
                   %s,
                   current_setting('track_wal_io_timing')::bool AS io_timing,
                   extract(epoch FROM stats_reset)::float8 AS stats_reset_seconds
              FROM pg_stat_wal
            """;

    /**
     * pg_stat_wal's one row.
     *
     * @param writes       times WAL buffers were written out (14-17; null on 18+)
     * @param syncs        times WAL files were synced to disk (14-17)
     * @param writeSeconds time spent writing, 0 unless {@code track_wal_io_timing} (14-17)
     * @param syncSeconds  time spent syncing, 0 unless {@code track_wal_io_timing} (14-17)
     * @param ioTiming     {@code track_wal_io_timing}: whether the times are measured
     */
    public record Wal(long records, long fpi, long bytes, long buffersFull, Long writes, Long syncs,
            Double writeSeconds, Double syncSeconds, boolean ioTiming, Double statsResetSeconds) {
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Wal> resultType() {
        return Wal.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        return server.major() < 14 ? Optional.of("pg_stat_wal is new in PostgreSQL 14 (this is " + server.version() + ")")
                : Optional.empty();
    }

    static String sql(int major) {
        return SQL.formatted(major >= 18 ? COLUMNS_18 : COLUMNS_14);
    }

    @Override
    public Wal collect(Connection connection, ServerInfo server) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(sql(server.major())); ResultSet rs = st.executeQuery()) {
            rs.next();
            return new Wal(rs.getLong("wal_records"), rs.getLong("wal_fpi"), rs.getLong("wal_bytes"),
                    rs.getLong("wal_buffers_full"), rs.getObject("writes", Long.class), rs.getObject("syncs", Long.class),
                    rs.getObject("write_seconds", Double.class), rs.getObject("sync_seconds", Double.class),
                    rs.getBoolean("io_timing"), rs.getObject("stats_reset_seconds", Double.class));
        }
    }
}
