package io.pgvigil.checkpoints;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;

/**
 * Reads {@code pg_stat_io} (PostgreSQL 16+; off on 13-15, which do not have it): I/O operations by
 * backend type, object ({@code relation}, {@code temp relation}, on 18 also {@code wal}) and context
 * ({@code normal}, {@code vacuum}, {@code bulkread}, {@code bulkwrite}, on 18 {@code init}). The
 * rows are a fixed set that PostgreSQL defines (30 on 16, 35 on 17, 79 on 18), so the labels are
 * bounded.
 * An operation that does not apply to a row is NULL there and stays null (no series).
 *
 * <p>Bytes: 16-17 give {@code op_bytes} (the block size) per row, so the query multiplies the
 * operation counts by it; 18 reports {@code read_bytes}, {@code write_bytes}, {@code extend_bytes}
 * itself (WAL operations vary in size). Times are in seconds and measured only when
 * {@code track_io_timing} is on ({@code track_wal_io_timing} for the {@code wal} rows);
 * {@link Row#timed()} says whether they are.
 *
 * <p>Series: {@code pg_io_reads_total}, {@code pg_io_read_bytes_total}, {@code pg_io_writes_total},
 * {@code pg_io_write_bytes_total}, {@code pg_io_extends_total}, {@code pg_io_extend_bytes_total},
 * {@code pg_io_hits_total}, {@code pg_io_evictions_total}, {@code pg_io_fsyncs_total} and the
 * {@code pg_io_*_seconds_total} times (all {backend_type, object, context}).
 */
@ApplicationScoped
public class StatIoCollector implements Collector<StatIoCollector.Io> {

    public static final String KEY = "pg_stat_io";

    /** PostgreSQL 16-17: every operation is op_bytes (one block) long. */
    static final String BYTES_16 = """
            reads * op_bytes AS read_bytes, writes * op_bytes AS write_bytes, extends * op_bytes AS extend_bytes""";

    /** PostgreSQL 18+: the bytes themselves. */
    static final String BYTES_18 = """
            read_bytes::int8 AS read_bytes, write_bytes::int8 AS write_bytes, extend_bytes::int8 AS extend_bytes""";

    /**
     * %s: the version's byte columns. The timing settings are read once, not once per row, and the
     * rows are not sorted: both cost a third more than the bare view on 18 (docs/performance.md).
     */
    static final String SQL = """
            SELECT backend_type, object, context,
                   reads, writes, extends, hits, evictions, fsyncs,
                   %s,
                   read_time / 1000.0 AS read_seconds, write_time / 1000.0 AS write_seconds,
                   extend_time / 1000.0 AS extend_seconds, fsync_time / 1000.0 AS fsync_seconds,
                   CASE WHEN object = 'wal' THEN t.wal ELSE t.io END AS timed
              FROM pg_stat_io,
                   (SELECT current_setting('track_io_timing')::bool AS io,
                           current_setting('track_wal_io_timing')::bool AS wal) t
            """;

    /**
     * One (backend_type, object, context) row; each operation null where it does not apply.
     *
     * @param timed whether the times are measured ({@code track_io_timing}, or {@code track_wal_io_timing}
     *              for the {@code wal} rows); they read 0 when not
     */
    public record Row(String backendType, String object, String context, Long reads, Long writes, Long extends_,
            Long hits, Long evictions, Long fsyncs, Long readBytes, Long writeBytes, Long extendBytes,
            Double readSeconds, Double writeSeconds, Double extendSeconds, Double fsyncSeconds, boolean timed) {
    }

    public record Io(List<Row> rows) {
        public Io {
            rows = List.copyOf(rows);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Io> resultType() {
        return Io.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        return server.major() < 16 ? Optional.of("pg_stat_io is new in PostgreSQL 16 (this is " + server.version() + ")")
                : Optional.empty();
    }

    static String sql(int major) {
        return SQL.formatted(major >= 18 ? BYTES_18 : BYTES_16);
    }

    @Override
    public Io collect(Connection connection, ServerInfo server) throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(sql(server.major())); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                rows.add(new Row(rs.getString("backend_type"), rs.getString("object"), rs.getString("context"),
                        rs.getObject("reads", Long.class), rs.getObject("writes", Long.class),
                        rs.getObject("extends", Long.class), rs.getObject("hits", Long.class),
                        rs.getObject("evictions", Long.class), rs.getObject("fsyncs", Long.class),
                        rs.getObject("read_bytes", Long.class), rs.getObject("write_bytes", Long.class),
                        rs.getObject("extend_bytes", Long.class), rs.getObject("read_seconds", Double.class),
                        rs.getObject("write_seconds", Double.class), rs.getObject("extend_seconds", Double.class),
                        rs.getObject("fsync_seconds", Double.class), rs.getBoolean("timed")));
            }
        }
        return new Io(rows);
    }
}
