package io.pgvigil.replication;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Snapshot;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.replication.WalReceiverCollector.Receiver;

/**
 * Replication from both sides: each standby as the primary sees it, this server as a standby, and the
 * replication slots.
 *
 * <pre>
 * pg_replication_standby_lag_bytes{application_name="replica1",client_addr="10.0.0.2",stage="replay"} 4096.0
 * pg_standby_replay_lag_seconds 0.0
 * pg_replication_slot_retained_wal_bytes{slot_name="old",slot_type="physical"} 1.6777216E7
 * </pre>
 */
@Singleton
public class ReplicationMetrics implements MetricsGroup {

    public static final String STANDBYS = "standbys";
    public static final String STANDBY = "standby";
    public static final String SLOTS = "slots";
    public static final MetricFamily STANDBY_LAG_BYTES = MetricFamily.gauge(STANDBYS, "pg_replication_standby_lag_bytes",
            "Bytes of WAL the standby is behind `pg_current_wal_lsn()` at each `stage`: `sent`, `write`, `flush`, `replay`. A stage the standby has not reported yet is absent.",
            "application_name", "client_addr", "stage");
    public static final MetricFamily STANDBY_LAG_SECONDS = MetricFamily.gauge(STANDBYS, "pg_replication_standby_lag_seconds",
            "`write_lag`, `flush_lag`, `replay_lag` as PostgreSQL measures them (`stage` = `write`, `flush`, `replay`). Absent when there is no recent measurement: PostgreSQL clears them once a standby has caught up on an idle primary.",
            "application_name", "client_addr", "stage");
    public static final MetricFamily STANDBY_INFO = MetricFamily.gauge(STANDBYS, "pg_replication_standby_info",
            "1 per WAL sender: `state` (`startup`, `catchup`, `streaming`, `backup`, `stopping`) and `sync_state` (`async`, `potential`, `sync`, `quorum`).",
            "application_name", "client_addr", "state", "sync_state");
    public static final MetricFamily RECEIVED = MetricFamily.gauge(STANDBY, "pg_standby_received_wal_position_bytes",
            "`pg_last_wal_receive_lsn()` as bytes from `0/0`; `rate()` of it is the WAL received per second.");
    public static final MetricFamily REPLAYED = MetricFamily.gauge(STANDBY, "pg_standby_replayed_wal_position_bytes",
            "`pg_last_wal_replay_lsn()` as bytes from `0/0`.");
    public static final MetricFamily REPLAY_LAG_BYTES = MetricFamily.gauge(STANDBY, "pg_standby_replay_lag_bytes",
            "WAL received but not yet replayed: `pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn()`.");
    public static final MetricFamily REPLAY_LAG_SECONDS = MetricFamily.gauge(STANDBY, "pg_standby_replay_lag_seconds",
            "0 when everything received has been replayed; otherwise `now() - pg_last_xact_replay_timestamp()`. Never grows on an idle primary (the classic false alarm of the plain formula).");
    public static final MetricFamily STREAMING = MetricFamily.gauge(STANDBY, "pg_standby_wal_receiver_streaming",
            "1 while the WAL receiver streams from the primary, 0 when it does not (primary gone, connection refused, ...).");
    public static final MetricFamily RECEIVER_STATUS = MetricFamily.gauge(STANDBY, "pg_standby_wal_receiver_status",
            "1 for the WAL receiver's status: `streaming`, `waiting`, `starting`, `stopping`, `restarting`, `stopped`, or `none` when no receiver runs.",
            "status");
    public static final MetricFamily LAST_MESSAGE_AGE = MetricFamily.gauge(STANDBY, "pg_standby_last_message_age_seconds",
            "Time since the WAL receiver last heard from the primary. An idle primary sends little (it answers the standby's status reports, every `wal_receiver_status_interval`), so a value of a few seconds is normal; use `pg_standby_wal_receiver_streaming` to detect a dead stream.");
    public static final MetricFamily SLOT_ACTIVE = MetricFamily.gauge(SLOTS, "pg_replication_slot_active",
            "1 while a consumer streams from the slot.",
            "slot_name", "slot_type");
    public static final MetricFamily SLOT_RETAINED = MetricFamily.gauge(SLOTS, "pg_replication_slot_retained_wal_bytes",
            "WAL the slot holds back: `pg_current_wal_lsn() - restart_lsn`. Absent for a slot that never reserved WAL.",
            "slot_name", "slot_type");
    public static final MetricFamily SLOT_SAFE_WAL = MetricFamily.gauge(SLOTS, "pg_replication_slot_safe_wal_size_bytes",
            "`safe_wal_size`: WAL that can still be written before the slot risks losing what it needs. Absent when `max_slot_wal_keep_size` is unlimited (-1, the default).",
            "slot_name", "slot_type");
    public static final MetricFamily SLOT_WAL_STATUS = MetricFamily.gauge(SLOTS, "pg_replication_slot_wal_status",
            "1 for the slot's `wal_status`: `reserved`, `extended`, `unreserved` or `lost`.",
            "slot_name", "slot_type", "wal_status");

    @Override
    public List<MetricFamily> families() {
        return List.of(STANDBY_LAG_BYTES, STANDBY_LAG_SECONDS, STANDBY_INFO, RECEIVED, REPLAYED, REPLAY_LAG_BYTES,
                REPLAY_LAG_SECONDS, STREAMING, RECEIVER_STATUS, LAST_MESSAGE_AGE, SLOT_ACTIVE, SLOT_RETAINED,
                SLOT_SAFE_WAL, SLOT_WAL_STATUS);
    }

    @Override
    public void publish(PollState state, Series out) {
        Snapshot snapshot = state.snapshot();
        boolean up = state.up();
        standbys(up ? snapshot.get(Standbys.class) : Optional.empty(), out);
        slots(up ? snapshot.get(Slots.class) : Optional.empty(), out);
        Optional<Receiver> receiver = up ? snapshot.get(Receiver.class) : Optional.empty();
        out.set(RECEIVED, receiver.map(Receiver::receivedBytes).map(Long::doubleValue).orElse(null));
        out.set(REPLAYED, receiver.map(Receiver::replayedBytes).map(Long::doubleValue).orElse(null));
        out.set(REPLAY_LAG_BYTES, receiver.map(Receiver::replayLagBytes).map(Long::doubleValue).orElse(null));
        out.set(REPLAY_LAG_SECONDS, receiver.map(Receiver::replayLagSeconds).orElse(null));
        out.set(STREAMING, receiver.map(r -> r.streaming() ? 1.0 : 0.0).orElse(null));
        out.set(RECEIVER_STATUS, receiver.map(r -> Map.of(Tags.of("status", r.status() == null ? "none" : r.status()), 1.0))
                .orElse(Map.of()));
        out.set(LAST_MESSAGE_AGE, receiver.map(Receiver::lastMessageAgeSeconds).orElse(null));
    }

    private static void standbys(Optional<Standbys> standbys, Series out) {
        Map<Tags, Double> bytes = new HashMap<>();
        Map<Tags, Double> seconds = new HashMap<>();
        Map<Tags, Double> info = new HashMap<>();
        standbys.ifPresent(list -> list.standbys().forEach(s -> {
            Tags tags = Tags.of("application_name", nonNull(s.applicationName()), "client_addr", s.clientAddr());
            putStage(bytes, tags, "sent", s.sentLagBytes());
            putStage(bytes, tags, "write", s.writeLagBytes());
            putStage(bytes, tags, "flush", s.flushLagBytes());
            putStage(bytes, tags, "replay", s.replayLagBytes());
            putStage(seconds, tags, "write", s.writeLagSeconds());
            putStage(seconds, tags, "flush", s.flushLagSeconds());
            putStage(seconds, tags, "replay", s.replayLagSeconds());
            info.put(tags.and("state", nonNull(s.state()), "sync_state", nonNull(s.syncState())), 1.0);
        }));
        out.set(STANDBY_LAG_BYTES, bytes);
        out.set(STANDBY_LAG_SECONDS, seconds);
        out.set(STANDBY_INFO, info);
    }

    private static void putStage(Map<Tags, Double> series, Tags tags, String stage, Number value) {
        if (value != null) {
            series.put(tags.and("stage", stage), value.doubleValue());
        }
    }

    private static void slots(Optional<Slots> slots, Series out) {
        Map<Tags, Double> active = new HashMap<>();
        Map<Tags, Double> retained = new HashMap<>();
        Map<Tags, Double> safe = new HashMap<>();
        Map<Tags, Double> status = new HashMap<>();
        slots.ifPresent(list -> list.slots().forEach(s -> {
            Tags tags = Tags.of("slot_name", s.slotName(), "slot_type", s.slotType());
            active.put(tags, s.active() ? 1.0 : 0.0);
            if (s.retainedBytes() != null) {
                retained.put(tags, s.retainedBytes().doubleValue());
            }
            if (s.safeWalSize() != null) {
                safe.put(tags, s.safeWalSize().doubleValue());
            }
            if (s.walStatus() != null) {
                status.put(tags.and("wal_status", s.walStatus()), 1.0);
            }
        }));
        out.set(SLOT_ACTIVE, active);
        out.set(SLOT_RETAINED, retained);
        out.set(SLOT_SAFE_WAL, safe);
        out.set(SLOT_WAL_STATUS, status);
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }
}
