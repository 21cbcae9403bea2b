package io.pgvigil.checkpoints;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;

/**
 * Reads the checkpointer's and the background writer's cumulative counters (PostgreSQL 13-18, one
 * query for all). Until 16 both live in {@code pg_stat_bgwriter}; PostgreSQL 17 moved the
 * checkpointer's into {@code pg_stat_checkpointer} (renamed: {@code checkpoints_timed} →
 * {@code num_timed}, {@code checkpoints_req} → {@code num_requested}, {@code buffers_checkpoint} →
 * {@code buffers_written}; restartpoints counted apart; {@code buffers_backend} and
 * {@code buffers_backend_fsync} dropped, see {@code pg_stat_io}), and 18 added {@code num_done}
 * (checkpoints actually performed: the timed ones skipped on an idle server are not) and
 * {@code slru_written}. On 17+ the query reads both views, each once, in one statement, so a poll
 * never reads a view twice. One collector, not two: {@code checkpoint_pressure} needs the checkpoint
 * counters under one result type whatever the version, and on 13-16 they come from the same row as
 * the background writer's.
 *
 * <p>The same query gives the WAL position ({@code pg_current_wal_lsn()}, on a standby
 * {@code pg_last_wal_replay_lsn()}), from which {@code checkpoint_pressure} tells the WAL written in
 * its window on every version (pg_stat_wal is 14+), and the settings its advice is about:
 * {@code max_wal_size}, {@code checkpoint_timeout}, {@code checkpoint_completion_target}.
 *
 * <p>Series: {@code pg_checkpoints_timed_total}, {@code pg_checkpoints_requested_total},
 * {@code pg_checkpoints_done_total} (18+), {@code pg_checkpoint_*}, {@code pg_restartpoints_*}
 * (17+), {@code pg_bgwriter_*}, {@code pg_settings_max_wal_size_bytes},
 * {@code pg_settings_checkpoint_timeout_seconds}; see docs/metrics.md.
 */
@ApplicationScoped
public class StatBgwriterCollector implements Collector<StatBgwriterCollector.Checkpointer> {

    public static final String KEY = "pg_stat_bgwriter";

    /** PostgreSQL 13-16: one view holds both processes' counters; restartpoints count as checkpoints. */
    static final String COLUMNS_13 = """
            checkpoints_timed AS timed, checkpoints_req AS requested, NULL::int8 AS done,
                   NULL::int8 AS restartpoints_timed, NULL::int8 AS restartpoints_requested,
                   NULL::int8 AS restartpoints_done,
                   checkpoint_write_time / 1000.0 AS write_seconds, checkpoint_sync_time / 1000.0 AS sync_seconds,
                   buffers_checkpoint AS buffers_written, NULL::int8 AS slru_written,
                   extract(epoch FROM stats_reset)::float8 AS stats_reset_seconds,
                   buffers_clean, maxwritten_clean, buffers_alloc, buffers_backend, buffers_backend_fsync
              FROM pg_stat_bgwriter""";

    /** PostgreSQL 17: the checkpointer's own view, restartpoints apart. */
    static final String COLUMNS_17 = """
            c.num_timed AS timed, c.num_requested AS requested, NULL::int8 AS done,
                   c.restartpoints_timed, c.restartpoints_req AS restartpoints_requested, c.restartpoints_done,
                   c.write_time / 1000.0 AS write_seconds, c.sync_time / 1000.0 AS sync_seconds,
                   c.buffers_written, NULL::int8 AS slru_written,
                   extract(epoch FROM c.stats_reset)::float8 AS stats_reset_seconds,
                   b.buffers_clean, b.maxwritten_clean, b.buffers_alloc,
                   NULL::int8 AS buffers_backend, NULL::int8 AS buffers_backend_fsync
              FROM pg_stat_checkpointer c, pg_stat_bgwriter b""";

    /** PostgreSQL 18+: num_done (performed checkpoints) and slru_written. */
    static final String COLUMNS_18 = """
            c.num_timed AS timed, c.num_requested AS requested, c.num_done AS done,
                   c.restartpoints_timed, c.restartpoints_req AS restartpoints_requested, c.restartpoints_done,
                   c.write_time / 1000.0 AS write_seconds, c.sync_time / 1000.0 AS sync_seconds,
                   c.buffers_written, c.slru_written,
                   extract(epoch FROM c.stats_reset)::float8 AS stats_reset_seconds,
                   b.buffers_clean, b.maxwritten_clean, b.buffers_alloc,
                   NULL::int8 AS buffers_backend, NULL::int8 AS buffers_backend_fsync
              FROM pg_stat_checkpointer c, pg_stat_bgwriter b""";

    /** %s: the version's columns and FROM clause. */
    static final String SQL = """
            SELECT pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                                        ELSE pg_current_wal_lsn() END, '0/0')::int8 AS wal_position,
                   pg_size_bytes(current_setting('max_wal_size')) AS max_wal_size,
                   extract(epoch FROM current_setting('checkpoint_timeout')::interval)::float8 AS checkpoint_timeout,
                   current_setting('checkpoint_completion_target')::float8 AS completion_target,
                   %s
            """;

    /**
     * The checkpointer's counters since {@code statsResetSeconds}.
     *
     * @param timed                   checkpoints started because {@code checkpoint_timeout} passed, including
     *                                the ones then skipped because nothing was written since the last (on 13-16 also
     *                                a standby's restartpoints)
     * @param requested               checkpoints requested: WAL past {@code max_wal_size}, {@code CHECKPOINT},
     *                                a base backup, {@code CREATE DATABASE}, ...
     * @param done                    checkpoints performed (18+; null before)
     * @param restartpointsTimed      a standby's restartpoints by timeout (17+; on 13-16 inside {@code timed})
     * @param restartpointsRequested  a standby's requested restartpoints (17+)
     * @param restartpointsDone       a standby's restartpoints performed (17+)
     * @param buffersWritten          shared buffers the checkpointer wrote
     * @param slruWritten             SLRU buffers the checkpointer wrote (18+)
     * @param statsResetSeconds       when these counters were last reset
     */
    public record Checkpoints(long timed, long requested, Long done, Long restartpointsTimed,
            Long restartpointsRequested, Long restartpointsDone, double writeSeconds, double syncSeconds,
            long buffersWritten, Long slruWritten, Double statsResetSeconds) {
    }

    /**
     * The background writer's counters, and on 13-16 the backends' own writes.
     *
     * @param buffersBackend      buffers written by backends themselves (13-16; pg_stat_io on 16+)
     * @param buffersBackendFsync fsyncs backends had to do themselves (13-16)
     */
    public record Bgwriter(long buffersClean, long maxwrittenClean, long buffersAlloc, Long buffersBackend,
            Long buffersBackendFsync) {
    }

    /**
     * One reading.
     *
     * @param walPositionBytes            the current WAL position in bytes from 0/0 (replayed on a standby);
     *                                    null on a standby that has replayed nothing yet
     * @param maxWalSizeBytes             {@code max_wal_size}
     * @param checkpointTimeoutSeconds    {@code checkpoint_timeout}
     * @param checkpointCompletionTarget  {@code checkpoint_completion_target}
     */
    public record Checkpointer(Checkpoints checkpoints, Bgwriter bgwriter, Long walPositionBytes, long maxWalSizeBytes,
            double checkpointTimeoutSeconds, double checkpointCompletionTarget) {
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Checkpointer> resultType() {
        return Checkpointer.class;
    }

    /** The statement for a major version: the one place the version picks the columns. */
    static String sql(int major) {
        return SQL.formatted(major >= 18 ? COLUMNS_18 : major == 17 ? COLUMNS_17 : COLUMNS_13);
    }

    @Override
    public Checkpointer collect(Connection connection, ServerInfo server) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(sql(server.major())); ResultSet rs = st.executeQuery()) {
            rs.next();
            Checkpoints checkpoints = new Checkpoints(rs.getLong("timed"), rs.getLong("requested"),
                    rs.getObject("done", Long.class), rs.getObject("restartpoints_timed", Long.class),
                    rs.getObject("restartpoints_requested", Long.class), rs.getObject("restartpoints_done", Long.class),
                    rs.getDouble("write_seconds"), rs.getDouble("sync_seconds"), rs.getLong("buffers_written"),
                    rs.getObject("slru_written", Long.class), rs.getObject("stats_reset_seconds", Double.class));
            Bgwriter bgwriter = new Bgwriter(rs.getLong("buffers_clean"), rs.getLong("maxwritten_clean"),
                    rs.getLong("buffers_alloc"), rs.getObject("buffers_backend", Long.class),
                    rs.getObject("buffers_backend_fsync", Long.class));
            return new Checkpointer(checkpoints, bgwriter, rs.getObject("wal_position", Long.class),
                    rs.getLong("max_wal_size"), rs.getDouble("checkpoint_timeout"), rs.getDouble("completion_target"));
        }
    }
}
