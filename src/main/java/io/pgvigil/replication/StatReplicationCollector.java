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
 * Reads {@code pg_stat_replication} on a primary (PostgreSQL 13-18, one query for all): per standby
 * (WAL sender), its state and sync state, how many bytes of WAL it is behind
 * {@code pg_current_wal_lsn()} at each stage (sent, written, flushed, replayed), and the write,
 * flush and replay lag times PostgreSQL measures. Off on a standby.
 *
 * <p>Series: {@code pg_replication_standby_lag_bytes{application_name,client_addr,stage}},
 * {@code pg_replication_standby_lag_seconds{application_name,client_addr,stage}},
 * {@code pg_replication_standby_info{application_name,client_addr,state,sync_state}}.
 */
@ApplicationScoped
public class StatReplicationCollector implements Collector<StatReplicationCollector.Standbys> {

    public static final String KEY = "pg_stat_replication";

    /**
     * The functions behind the pg_stat_replication view, because the view joins every backend's
     * activity to the WAL senders (0.23 ms a poll with 150 backends and no standby at all); here only
     * each WAL sender's own activity row is fetched (0.01 ms). Same columns on 13-18.
     */
    static final String SQL = """
            SELECT a.application_name,
                   coalesce(a.client_addr::text, '') AS client_addr,
                   w.state,
                   w.sync_state,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), w.sent_lsn)::int8 AS sent_lag_bytes,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), w.write_lsn)::int8 AS write_lag_bytes,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), w.flush_lsn)::int8 AS flush_lag_bytes,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), w.replay_lsn)::int8 AS replay_lag_bytes,
                   extract(epoch FROM w.write_lag)::float8 AS write_lag_seconds,
                   extract(epoch FROM w.flush_lag)::float8 AS flush_lag_seconds,
                   extract(epoch FROM w.replay_lag)::float8 AS replay_lag_seconds
              FROM pg_stat_get_wal_senders() w
              LEFT JOIN LATERAL pg_stat_get_activity(w.pid) a ON true
             ORDER BY 1, 2
            """;

    /**
     * One WAL sender. Byte lags are null until the standby has reported that position; lag times are
     * null when PostgreSQL has no recent measurement (a standby that has caught up on an idle primary).
     */
    public record Standby(String applicationName, String clientAddr, String state, String syncState,
            Long sentLagBytes, Long writeLagBytes, Long flushLagBytes, Long replayLagBytes, Double writeLagSeconds,
            Double flushLagSeconds, Double replayLagSeconds) {
    }

    public record Standbys(List<Standby> standbys) {
        public Standbys {
            standbys = List.copyOf(standbys);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Standbys> resultType() {
        return Standbys.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        return server.inRecovery() ? Optional.of("the server is a standby; WAL senders are read on the primary")
                : Optional.empty();
    }

    @Override
    public Standbys collect(Connection connection, ServerInfo server) throws SQLException {
        List<Standby> standbys = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                standbys.add(new Standby(rs.getString("application_name"), rs.getString("client_addr"),
                        rs.getString("state"), rs.getString("sync_state"), rs.getObject("sent_lag_bytes", Long.class),
                        rs.getObject("write_lag_bytes", Long.class), rs.getObject("flush_lag_bytes", Long.class),
                        rs.getObject("replay_lag_bytes", Long.class), rs.getObject("write_lag_seconds", Double.class),
                        rs.getObject("flush_lag_seconds", Double.class), rs.getObject("replay_lag_seconds", Double.class)));
            }
        }
        return new Standbys(standbys);
    }
}
