package io.pgvigil.activity;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.target.ServerInfo;
import io.pgvigil.core.Collector;

/**
 * Reads {@code pg_stat_activity} (PostgreSQL 13-18, one query for all): one row per client backend,
 * including pgvigil's own session, which counts against the connection slots like any other. Only
 * the backend with the oldest open transaction carries its query text (200 characters), so the
 * poll never moves every session's query over the wire.
 *
 * <p>Series: {@code pg_connections{datname,state}}, {@code pg_connections_waiting_on_lock{datname}},
 * {@code pg_oldest_transaction_age_seconds}, {@code pg_oldest_idle_in_transaction_seconds}.
 */
@ApplicationScoped
public class StatActivityCollector implements Collector<StatActivityCollector.Activity> {

    public static final String KEY = "pg_stat_activity";

    /** Transaction ages are taken against the poll's own transaction start, now(), as one instant. */
    static final String SQL = """
            SELECT pid,
                   datname,
                   usename,
                   application_name,
                   state,
                   wait_event_type = 'Lock' AS waiting_on_lock,
                   -- greatest() ignores NULLs: without the CASE a backend with no transaction would be 0 s old.
                   CASE WHEN xact_start IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - xact_start))::float8 END AS xact_age_seconds,
                   CASE WHEN state_change IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - state_change))::float8 END AS state_age_seconds,
                   CASE WHEN row_number() OVER (ORDER BY pid = pg_backend_pid(), xact_start NULLS LAST) = 1
                        THEN left(query, 200) END AS query
              FROM pg_stat_activity
             WHERE backend_type = 'client backend'
            """;

    /**
     * One client backend.
     *
     * @param xactAgeSeconds  age of its open transaction, null when none is open
     * @param stateAgeSeconds time since its state last changed, null when unknown
     * @param query           first 200 characters of its query, only on the oldest transaction's row
     */
    public record Backend(int pid, String datname, String usename, String applicationName, String state,
            boolean waitingOnLock, Double xactAgeSeconds, Double stateAgeSeconds, String query) {

        boolean idleInTransaction() {
            return state != null && state.startsWith("idle in transaction");
        }
    }

    /** Every client backend, and pgvigil's own pid. */
    public record Activity(List<Backend> backends, int ownPid) {

        public Activity {
            backends = List.copyOf(backends);
        }

        public int clientBackends() {
            return backends.size();
        }

        /** datname → state → backends. A backend with no database yet or no state shows as "". */
        public Map<String, Map<String, Integer>> byDatabaseAndState() {
            Map<String, Map<String, Integer>> counts = new TreeMap<>();
            for (Backend b : backends) {
                counts.computeIfAbsent(nonNull(b.datname()), k -> new TreeMap<>())
                        .merge(nonNull(b.state()), 1, Integer::sum);
            }
            return counts;
        }

        /** datname → backends waiting for a heavyweight lock. */
        public Map<String, Integer> waitingOnLockByDatabase() {
            Map<String, Integer> counts = new TreeMap<>();
            for (Backend b : backends) {
                counts.merge(nonNull(b.datname()), b.waitingOnLock() ? 1 : 0, Integer::sum);
            }
            return counts;
        }

        /** The backend (not pgvigil's) whose open transaction is oldest. */
        public Optional<Backend> oldestTransaction() {
            return others().filter(b -> b.xactAgeSeconds() != null)
                    .max(Comparator.comparingDouble(Backend::xactAgeSeconds));
        }

        /** The longest time any session (not pgvigil's) has sat idle inside an open transaction. */
        public double longestIdleInTransactionSeconds() {
            return others().filter(Backend::idleInTransaction).filter(b -> b.stateAgeSeconds() != null)
                    .mapToDouble(Backend::stateAgeSeconds).max().orElse(0);
        }

        private java.util.stream.Stream<Backend> others() {
            return backends.stream().filter(b -> b.pid() != ownPid);
        }

        private static String nonNull(String s) {
            return s == null ? "" : s;
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Activity> resultType() {
        return Activity.class;
    }

    @Override
    public Activity collect(Connection connection, ServerInfo server) throws SQLException {
        List<Backend> backends = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                backends.add(new Backend(rs.getInt("pid"), rs.getString("datname"), rs.getString("usename"),
                        rs.getString("application_name"), rs.getString("state"), rs.getBoolean("waiting_on_lock"),
                        rs.getObject("xact_age_seconds", Double.class), rs.getObject("state_age_seconds", Double.class),
                        rs.getString("query")));
            }
        }
        return new Activity(backends, server.backendPid());
    }
}
