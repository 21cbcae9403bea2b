package io.pgvigil.replication;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.target.ServerInfo;
import io.pgvigil.core.Collector;

/**
 * Reads {@code pg_replication_slots} on a primary (PostgreSQL 13-18, one query for all): each slot's
 * type, whether a consumer is connected, the WAL it holds back ({@code pg_current_wal_lsn() -
 * restart_lsn}), {@code wal_status} and {@code safe_wal_size}. Off on a standby, where
 * {@code pg_current_wal_lsn()} cannot be called.
 *
 * <p>Series: {@code pg_replication_slot_active}, {@code pg_replication_slot_retained_wal_bytes},
 * {@code pg_replication_slot_safe_wal_size_bytes}, {@code pg_replication_slot_wal_status} (all
 * {slot_name, slot_type}).
 */
@ApplicationScoped
public class ReplicationSlotsCollector implements Collector<ReplicationSlotsCollector.Slots> {

    public static final String KEY = "pg_replication_slots";

    static final String SQL = """
            SELECT slot_name::text,
                   slot_type,
                   database::text,
                   active,
                   wal_status,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::int8 AS retained_bytes,
                   safe_wal_size
              FROM pg_replication_slots
             ORDER BY slot_name
            """;

    /**
     * One slot.
     *
     * @param database      the database of a logical slot, null for a physical one
     * @param retainedBytes WAL kept for the slot, null when it has no restart_lsn (never used, or lost)
     * @param walStatus     reserved, extended, unreserved or lost; null when it has no restart_lsn
     * @param safeWalSize   bytes that can still be written before the slot is in danger of losing
     *                      WAL, null when max_slot_wal_keep_size is unlimited
     */
    public record Slot(String slotName, String slotType, String database, boolean active, String walStatus,
            Long retainedBytes, Long safeWalSize) {
    }

    public record Slots(List<Slot> slots) {
        public Slots {
            slots = List.copyOf(slots);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Slots> resultType() {
        return Slots.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        return server.inRecovery() ? Optional.of("the server is a standby; slots are read on the primary")
                : Optional.empty();
    }

    @Override
    public Slots collect(Connection connection, ServerInfo server) throws SQLException {
        List<Slot> slots = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                slots.add(new Slot(rs.getString("slot_name"), rs.getString("slot_type"), rs.getString("database"),
                        rs.getBoolean("active"), rs.getString("wal_status"),
                        rs.getObject("retained_bytes", Long.class), rs.getObject("safe_wal_size", Long.class)));
            }
        }
        return new Slots(slots);
    }
}
