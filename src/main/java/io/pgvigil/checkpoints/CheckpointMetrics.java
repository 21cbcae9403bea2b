package io.pgvigil.checkpoints;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpointer;
import io.pgvigil.checkpoints.StatIoCollector.Io;
import io.pgvigil.checkpoints.StatIoCollector.Row;
import io.pgvigil.checkpoints.StatWalCollector.Wal;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;

/**
 * The write path: checkpoints and the background writer, WAL generated, I/O by backend type. Every
 * counter is PostgreSQL's own cumulative value, published as it is read: a statistics reset (or a
 * crash restart) makes it go down, which Prometheus' {@code rate()} and {@code increase()} treat as
 * a counter reset. A column a version does not have gives no series on that version.
 *
 * <pre>
 * pg_checkpoints_requested_total 12.0
 * pg_wal_bytes_total 1.073741824E9
 * pg_io_writes_total{backend_type="checkpointer",context="normal",object="relation"} 5120.0
 * </pre>
 */
@Singleton
public class CheckpointMetrics implements MetricsGroup {

    public static final String CHECKPOINTS = "checkpoints";
    public static final String WAL = "wal";
    public static final String IO = "io";

    public static final MetricFamily TIMED = MetricFamily.counter(CHECKPOINTS, "pg_checkpoints_timed",
            "Checkpoints started because `checkpoint_timeout` passed (`checkpoints_timed` on 13-16, `num_timed` on 17+), counting those then skipped because nothing was written since the last one; on a standby before 17, its restartpoints.");
    public static final MetricFamily REQUESTED = MetricFamily.counter(CHECKPOINTS, "pg_checkpoints_requested",
            "Checkpoints requested (`checkpoints_req` on 13-16, `num_requested` on 17+): WAL past `max_wal_size`, or a `CHECKPOINT` command, a base backup, `CREATE DATABASE`, ...; on a standby before 17, its restartpoints.");
    public static final MetricFamily DONE = MetricFamily.counter(CHECKPOINTS, "pg_checkpoints_done",
            "Checkpoints performed (`num_done`, PostgreSQL 18+): timed ones skipped on an idle server are not counted.");
    public static final MetricFamily WRITE_SECONDS = MetricFamily.counter(CHECKPOINTS, "pg_checkpoint_write_seconds",
            "Time checkpoints (and a standby's restartpoints) spent writing files (`checkpoint_write_time` on 13-16, `write_time` on 17+), in seconds.");
    public static final MetricFamily SYNC_SECONDS = MetricFamily.counter(CHECKPOINTS, "pg_checkpoint_sync_seconds",
            "Time they spent syncing files to disk (`checkpoint_sync_time` / `sync_time`), in seconds.");
    public static final MetricFamily BUFFERS_WRITTEN = MetricFamily.counter(CHECKPOINTS, "pg_checkpoint_buffers_written",
            "Shared buffers written by checkpoints and restartpoints (`buffers_checkpoint` on 13-16, `buffers_written` on 17+).");
    public static final MetricFamily SLRU_WRITTEN = MetricFamily.counter(CHECKPOINTS, "pg_checkpoint_slru_written",
            "SLRU buffers written by checkpoints and restartpoints (`slru_written`, PostgreSQL 18+).");
    public static final MetricFamily RESTARTPOINTS_TIMED = MetricFamily.counter(CHECKPOINTS, "pg_restartpoints_timed",
            "A standby's restartpoints started by `checkpoint_timeout` (`restartpoints_timed`, PostgreSQL 17+; 0 on a primary).");
    public static final MetricFamily RESTARTPOINTS_REQUESTED = MetricFamily.counter(CHECKPOINTS, "pg_restartpoints_requested",
            "A standby's requested restartpoints (`restartpoints_req`, PostgreSQL 17+).");
    public static final MetricFamily RESTARTPOINTS_DONE = MetricFamily.counter(CHECKPOINTS, "pg_restartpoints_done",
            "A standby's restartpoints performed (`restartpoints_done`, PostgreSQL 17+).");
    public static final MetricFamily BUFFERS_CLEAN = MetricFamily.counter(CHECKPOINTS, "pg_bgwriter_buffers_clean",
            "Buffers written by the background writer (`buffers_clean`).");
    public static final MetricFamily MAXWRITTEN_CLEAN = MetricFamily.counter(CHECKPOINTS, "pg_bgwriter_maxwritten_clean",
            "Times the background writer stopped a round because it had written `bgwriter_lru_maxpages` buffers (`maxwritten_clean`).");
    public static final MetricFamily BUFFERS_ALLOC = MetricFamily.counter(CHECKPOINTS, "pg_bgwriter_buffers_alloc",
            "Buffers allocated (`buffers_alloc`).");
    public static final MetricFamily BUFFERS_BACKEND = MetricFamily.counter(CHECKPOINTS, "pg_bgwriter_buffers_backend",
            "Buffers written by backends themselves (`buffers_backend`, PostgreSQL 13-16; from 16 on, `pg_io_writes_total` by `backend_type`).");
    public static final MetricFamily BUFFERS_BACKEND_FSYNC = MetricFamily.counter(CHECKPOINTS, "pg_bgwriter_buffers_backend_fsync",
            "Times a backend had to fsync a file itself (`buffers_backend_fsync`, PostgreSQL 13-16).");
    public static final MetricFamily MAX_WAL_SIZE = MetricFamily.gauge(CHECKPOINTS, "pg_settings_max_wal_size_bytes",
            "`max_wal_size`, in bytes: WAL past about `max_wal_size / (1 + checkpoint_completion_target)` since the last checkpoint requests the next one.");
    public static final MetricFamily CHECKPOINT_TIMEOUT = MetricFamily.gauge(CHECKPOINTS, "pg_settings_checkpoint_timeout_seconds",
            "`checkpoint_timeout`, in seconds.");
    public static final MetricFamily COMPLETION_TARGET = MetricFamily.gauge(CHECKPOINTS, "pg_settings_checkpoint_completion_target",
            "`checkpoint_completion_target`.");

    public static final MetricFamily WAL_RECORDS = MetricFamily.counter(WAL, "pg_wal_records",
            "WAL records generated (`wal_records`).");
    public static final MetricFamily WAL_FPI = MetricFamily.counter(WAL, "pg_wal_fpi",
            "Full-page images written to WAL (`wal_fpi`): many right after each checkpoint; frequent checkpoints mean more of them.");
    public static final MetricFamily WAL_BYTES = MetricFamily.counter(WAL, "pg_wal_bytes",
            "WAL generated, in bytes (`wal_bytes`).");
    public static final MetricFamily WAL_BUFFERS_FULL = MetricFamily.counter(WAL, "pg_wal_buffers_full",
            "Times WAL had to be written out because the WAL buffers were full (`wal_buffers_full`; consider a larger `wal_buffers` if it climbs).");
    public static final MetricFamily WAL_WRITES = MetricFamily.counter(WAL, "pg_wal_writes",
            "Times WAL buffers were written to disk (`wal_write`, PostgreSQL 14-17; on 18 `pg_io_writes_total{object=\"wal\"}`).");
    public static final MetricFamily WAL_SYNCS = MetricFamily.counter(WAL, "pg_wal_syncs",
            "Times WAL files were synced to disk (`wal_sync`, PostgreSQL 14-17; on 18 `pg_io_fsyncs_total{object=\"wal\"}`).");
    public static final MetricFamily WAL_WRITE_SECONDS = MetricFamily.counter(WAL, "pg_wal_write_seconds",
            "Time spent writing WAL (`wal_write_time`, PostgreSQL 14-17), in seconds; stays 0 unless `track_wal_io_timing` is on.");
    public static final MetricFamily WAL_SYNC_SECONDS = MetricFamily.counter(WAL, "pg_wal_sync_seconds",
            "Time spent syncing WAL (`wal_sync_time`, PostgreSQL 14-17), in seconds; stays 0 unless `track_wal_io_timing` is on.");

    public static final MetricFamily IO_READS = ioCounter("pg_io_reads", "Read operations (`reads`).");
    public static final MetricFamily IO_READ_BYTES = ioCounter("pg_io_read_bytes",
            "Bytes read (`read_bytes` on 18; `reads × op_bytes` on 16-17, where every operation is one block).");
    public static final MetricFamily IO_READ_SECONDS = ioCounter("pg_io_read_seconds",
            "Time spent in reads (`read_time`), in seconds; only while `track_io_timing` is on (`track_wal_io_timing` for `object=\"wal\"`).");
    public static final MetricFamily IO_WRITES = ioCounter("pg_io_writes", "Write operations (`writes`).");
    public static final MetricFamily IO_WRITE_BYTES = ioCounter("pg_io_write_bytes",
            "Bytes written (`write_bytes` on 18; `writes × op_bytes` on 16-17).");
    public static final MetricFamily IO_WRITE_SECONDS = ioCounter("pg_io_write_seconds",
            "Time spent in writes (`write_time`), in seconds; only while the timing setting is on.");
    public static final MetricFamily IO_EXTENDS = ioCounter("pg_io_extends", "Relation extend operations (`extends`).");
    public static final MetricFamily IO_EXTEND_BYTES = ioCounter("pg_io_extend_bytes",
            "Bytes by which relations were extended (`extend_bytes` on 18; `extends × op_bytes` on 16-17).");
    public static final MetricFamily IO_EXTEND_SECONDS = ioCounter("pg_io_extend_seconds",
            "Time spent extending (`extend_time`), in seconds; only while the timing setting is on.");
    public static final MetricFamily IO_HITS = ioCounter("pg_io_hits", "Blocks found in shared buffers (`hits`).");
    public static final MetricFamily IO_EVICTIONS = ioCounter("pg_io_evictions",
            "Buffers evicted to make room for another block (`evictions`).");
    public static final MetricFamily IO_FSYNCS = ioCounter("pg_io_fsyncs", "fsync calls (`fsyncs`).");
    public static final MetricFamily IO_FSYNC_SECONDS = ioCounter("pg_io_fsync_seconds",
            "Time spent in fsync calls (`fsync_time`), in seconds; only while the timing setting is on.");

    private static final Map<MetricFamily, Function<Checkpointer, Number>> CHECKPOINTER = new LinkedHashMap<>();
    private static final Map<MetricFamily, Function<Wal, Number>> WAL_COLUMNS = new LinkedHashMap<>();
    private static final Map<MetricFamily, Function<Row, Number>> IO_COLUMNS = new LinkedHashMap<>();
    /** The time columns of pg_stat_io: published only for rows whose timing setting is on. */
    private static final Set<MetricFamily> IO_TIMES = Set.of(IO_READ_SECONDS, IO_WRITE_SECONDS, IO_EXTEND_SECONDS,
            IO_FSYNC_SECONDS);

    static {
        CHECKPOINTER.put(TIMED, c -> c.checkpoints().timed());
        CHECKPOINTER.put(REQUESTED, c -> c.checkpoints().requested());
        CHECKPOINTER.put(DONE, c -> c.checkpoints().done());
        CHECKPOINTER.put(WRITE_SECONDS, c -> c.checkpoints().writeSeconds());
        CHECKPOINTER.put(SYNC_SECONDS, c -> c.checkpoints().syncSeconds());
        CHECKPOINTER.put(BUFFERS_WRITTEN, c -> c.checkpoints().buffersWritten());
        CHECKPOINTER.put(SLRU_WRITTEN, c -> c.checkpoints().slruWritten());
        CHECKPOINTER.put(RESTARTPOINTS_TIMED, c -> c.checkpoints().restartpointsTimed());
        CHECKPOINTER.put(RESTARTPOINTS_REQUESTED, c -> c.checkpoints().restartpointsRequested());
        CHECKPOINTER.put(RESTARTPOINTS_DONE, c -> c.checkpoints().restartpointsDone());
        CHECKPOINTER.put(BUFFERS_CLEAN, c -> c.bgwriter().buffersClean());
        CHECKPOINTER.put(MAXWRITTEN_CLEAN, c -> c.bgwriter().maxwrittenClean());
        CHECKPOINTER.put(BUFFERS_ALLOC, c -> c.bgwriter().buffersAlloc());
        CHECKPOINTER.put(BUFFERS_BACKEND, c -> c.bgwriter().buffersBackend());
        CHECKPOINTER.put(BUFFERS_BACKEND_FSYNC, c -> c.bgwriter().buffersBackendFsync());
        CHECKPOINTER.put(MAX_WAL_SIZE, Checkpointer::maxWalSizeBytes);
        CHECKPOINTER.put(CHECKPOINT_TIMEOUT, Checkpointer::checkpointTimeoutSeconds);
        CHECKPOINTER.put(COMPLETION_TARGET, Checkpointer::checkpointCompletionTarget);

        WAL_COLUMNS.put(WAL_RECORDS, Wal::records);
        WAL_COLUMNS.put(WAL_FPI, Wal::fpi);
        WAL_COLUMNS.put(WAL_BYTES, Wal::bytes);
        WAL_COLUMNS.put(WAL_BUFFERS_FULL, Wal::buffersFull);
        WAL_COLUMNS.put(WAL_WRITES, Wal::writes);
        WAL_COLUMNS.put(WAL_SYNCS, Wal::syncs);
        WAL_COLUMNS.put(WAL_WRITE_SECONDS, Wal::writeSeconds);
        WAL_COLUMNS.put(WAL_SYNC_SECONDS, Wal::syncSeconds);

        IO_COLUMNS.put(IO_READS, Row::reads);
        IO_COLUMNS.put(IO_READ_BYTES, Row::readBytes);
        IO_COLUMNS.put(IO_READ_SECONDS, Row::readSeconds);
        IO_COLUMNS.put(IO_WRITES, Row::writes);
        IO_COLUMNS.put(IO_WRITE_BYTES, Row::writeBytes);
        IO_COLUMNS.put(IO_WRITE_SECONDS, Row::writeSeconds);
        IO_COLUMNS.put(IO_EXTENDS, Row::extends_);
        IO_COLUMNS.put(IO_EXTEND_BYTES, Row::extendBytes);
        IO_COLUMNS.put(IO_EXTEND_SECONDS, Row::extendSeconds);
        IO_COLUMNS.put(IO_HITS, Row::hits);
        IO_COLUMNS.put(IO_EVICTIONS, Row::evictions);
        IO_COLUMNS.put(IO_FSYNCS, Row::fsyncs);
        IO_COLUMNS.put(IO_FSYNC_SECONDS, Row::fsyncSeconds);
    }

    private static MetricFamily ioCounter(String name, String doc) {
        return MetricFamily.counter(IO, name, doc + " By `backend_type`, `object`, `context` (PostgreSQL 16+; a row where the operation does not apply has no series).",
                "backend_type", "object", "context");
    }

    /**
     * The families a primary of {@code major} with default settings does not export: columns its
     * version lacks, and the pg_stat_io times, which need {@code track_io_timing}. Tests compare a
     * scrape with docs/metrics.md through it.
     */
    public static Set<MetricFamily> absentOnADefaultPrimary(int major) {
        Set<MetricFamily> absent = new java.util.HashSet<>(IO_TIMES);
        if (major < 18) {
            absent.addAll(List.of(DONE, SLRU_WRITTEN));
        }
        if (major < 17) {
            absent.addAll(List.of(RESTARTPOINTS_TIMED, RESTARTPOINTS_REQUESTED, RESTARTPOINTS_DONE));
        } else {
            absent.addAll(List.of(BUFFERS_BACKEND, BUFFERS_BACKEND_FSYNC));
        }
        if (major < 14 || major >= 18) {
            absent.addAll(List.of(WAL_WRITES, WAL_SYNCS, WAL_WRITE_SECONDS, WAL_SYNC_SECONDS));
        }
        if (major < 14) {
            absent.addAll(WAL_COLUMNS.keySet());
        }
        if (major < 16) {
            absent.addAll(IO_COLUMNS.keySet());
        }
        return Set.copyOf(absent);
    }

    @Override
    public List<MetricFamily> families() {
        List<MetricFamily> all = new java.util.ArrayList<>(CHECKPOINTER.keySet());
        all.addAll(WAL_COLUMNS.keySet());
        all.addAll(IO_COLUMNS.keySet());
        return all;
    }

    @Override
    public void publish(PollState state, Series out) {
        Optional<Checkpointer> checkpointer = result(state, Checkpointer.class);
        CHECKPOINTER.forEach((family, column) -> out.set(family, checkpointer.map(column).map(Number::doubleValue)
                .orElse(null)));
        Optional<Wal> wal = result(state, Wal.class);
        WAL_COLUMNS.forEach((family, column) -> out.set(family, wal.map(column).map(Number::doubleValue).orElse(null)));
        List<Row> rows = result(state, Io.class).map(Io::rows).orElse(List.of());
        IO_COLUMNS.forEach((family, column) -> {
            Map<Tags, Double> series = new HashMap<>();
            for (Row row : rows) {
                Number value = column.apply(row);
                if (value != null && (row.timed() || !IO_TIMES.contains(family))) {
                    series.put(Tags.of("backend_type", row.backendType(), "object", row.object(), "context",
                            row.context()), value.doubleValue());
                }
            }
            out.set(family, series);
        });
    }

    private static <T> Optional<T> result(PollState state, Class<T> type) {
        return state.up() ? state.snapshot().get(type) : Optional.empty();
    }
}
