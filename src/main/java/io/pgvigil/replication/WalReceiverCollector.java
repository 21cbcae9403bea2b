package io.pgvigil.replication;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.target.ServerInfo;
import io.pgvigil.core.Collector;

/**
 * Replication seen from a standby (PostgreSQL 13-18, one query for all): the WAL received and
 * replayed, the bytes received but not yet replayed, the replay delay, and the WAL receiver
 * ({@code pg_stat_wal_receiver}): its status and the time since it last heard from the primary.
 * Off on a primary.
 *
 * <p>The replay delay is 0 when everything received has been replayed: on an idle primary,
 * {@code now() - pg_last_xact_replay_timestamp()} grows for ever although the standby is current,
 * and paging on it is the classic false alarm. Otherwise it is that difference: the standby's data
 * is as old as the last transaction it replayed. A receiver that is not streaming is reported as such,
 * so a dead stream never passes for "no lag".
 *
 * <p>Series: {@code pg_standby_received_wal_position_bytes}, {@code pg_standby_replayed_wal_position_bytes},
 * {@code pg_standby_replay_lag_bytes},
 * {@code pg_standby_replay_lag_seconds}, {@code pg_standby_wal_receiver_streaming},
 * {@code pg_standby_last_message_age_seconds}.
 */
@ApplicationScoped
public class WalReceiverCollector implements Collector<WalReceiverCollector.Receiver> {

    public static final String KEY = "pg_stat_wal_receiver";

    static final String SQL = """
            SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::int8 AS received_bytes,
                   pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::int8 AS replayed_bytes,
                   greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()))::int8 AS replay_lag_bytes,
                   CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
                        ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))
                   END::float8 AS replay_lag_seconds,
                   r.status,
                   extract(epoch FROM now() - r.last_msg_receipt_time)::float8 AS last_message_age_seconds,
                   r.sender_host,
                   r.sender_port
              FROM (SELECT 1) AS one
              LEFT JOIN pg_stat_wal_receiver r ON true
            """;

    /**
     * @param receivedBytes          last WAL position received and flushed, as bytes from 0/0; null if
     *                               nothing was ever streamed (archive recovery only)
     * @param replayLagBytes         received but not yet replayed
     * @param replayLagSeconds       0 when everything received is replayed, else the age of the last
     *                               replayed transaction
     * @param status                 the WAL receiver's status ({@code streaming}, ...), null when no
     *                               receiver runs (e.g. the primary is gone)
     * @param lastMessageAgeSeconds  time since the receiver last heard from the primary, null without one
     */
    public record Receiver(Long receivedBytes, Long replayedBytes, Long replayLagBytes, Double replayLagSeconds,
            String status, Double lastMessageAgeSeconds, String senderHost, Integer senderPort) {

        public boolean streaming() {
            return "streaming".equals(status);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Receiver> resultType() {
        return Receiver.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        return server.inRecovery() ? Optional.empty() : Optional.of("the server is a primary; it has no WAL receiver");
    }

    @Override
    public Receiver collect(Connection connection, ServerInfo server) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            rs.next();
            return new Receiver(rs.getObject("received_bytes", Long.class), rs.getObject("replayed_bytes", Long.class),
                    rs.getObject("replay_lag_bytes", Long.class), rs.getObject("replay_lag_seconds", Double.class),
                    rs.getString("status"), rs.getObject("last_message_age_seconds", Double.class),
                    rs.getString("sender_host"), rs.getObject("sender_port", Integer.class));
        }
    }
}
