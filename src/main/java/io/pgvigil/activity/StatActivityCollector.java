package io.pgvigil.activity;

import java.sql.Array;
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
 * including pgvigil's own session, which counts against the connection slots like any other, with
 * what each waits on ({@code wait_event_type}, {@code wait_event}).
 *
 * <p>Lock waits: for a backend waiting on a heavyweight lock ({@code wait_event_type = 'Lock'}), and
 * only for those, {@code pg_blocking_pids()} gives the pids it waits for; that function takes the
 * lock manager's locks, so a CASE keeps it from being called for any other row, and a poll in which
 * nobody waits calls it not at all. Then, in the same statement and only when someone waits
 * (one-time filters over uncorrelated subqueries: with nobody waiting the plan never executes the
 * function scans), {@code pg_locks} gives when each wait began ({@code waitstart}, 14+) and, when a
 * waiter is blocked by a prepared transaction ({@code pg_blocking_pids()} says 0 for those),
 * {@code pg_prepared_xacts} which ones hold a lock on what it waits for. The backends at the head
 * of a chain that are not client backends (an autovacuum worker) come as rows of their own, and so
 * do those prepared transactions. {@link LockChains} turns it all into chains.
 *
 * <p>Query text (200 characters) comes only for the backend with the oldest open transaction and for
 * the backends that block another, so the poll never moves every session's query over the wire.
 *
 * <p>Series: {@code pg_connections{datname,state}}, {@code pg_connections_waiting_on_lock{datname}},
 * {@code pgvigil_longest_lock_wait_seconds{datname}}, {@code pg_active_connections{wait_event_type,wait_event}},
 * {@code pg_oldest_transaction_age_seconds}, {@code pg_oldest_idle_in_transaction_seconds}.
 */
@ApplicationScoped
public class StatActivityCollector implements Collector<StatActivityCollector.Activity> {

    public static final String KEY = "pg_stat_activity";

    /** PostgreSQL 14+: {@code pg_locks.waitstart} says when each wait began. */
    static final String WAIT_START_14 = "waitstart";
    static final String WAITED_SINCE_14 = """
            coalesce((SELECT min(l.waitstart) FROM locks l WHERE l.pid = a.pid AND NOT l.granted), now())""";
    /**
     * PostgreSQL 13 has no {@code waitstart}: the wait is taken from the start of the statement that
     * waits, an upper bound (the statement may have run a while before it had to wait).
     */
    static final String WAIT_START_13 = "NULL::timestamptz";
    static final String WAITED_SINCE_13 = "a.query_start";

    /**
     * %1$s: pg_locks' wait start column (or NULL); %2$s: when a waiting backend began to wait.
     * Ages are taken against the poll's own transaction start, now(), as one instant. Rows: every
     * client backend; every other backend that waits on a lock or blocks one that does; and every
     * prepared transaction holding a lock that someone waits for (pid 0, backend_type 'prepared
     * transaction', its gid in prepared_gid).
     */
    static final String SQL = """
            WITH activity AS MATERIALIZED (
                SELECT pid, backend_type, datname, usename, application_name, client_addr, client_port, state,
                       wait_event_type, wait_event, xact_start, state_change, query_start, query,
                       -- pg_blocking_pids() takes the lock manager's locks: only for backends that wait on one.
                       CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by
                  FROM pg_stat_activity
            ),
            -- Read only when someone waits: the uncorrelated condition becomes a one-time filter.
            locks AS MATERIALIZED (
                SELECT pid, granted, %1$s AS waitstart, virtualtransaction, locktype, database, relation, page, tuple,
                       virtualxid, transactionid, classid, objid, objsubid
                  FROM pg_locks
                 WHERE (NOT granted OR pid IS NULL)
                   AND (SELECT bool_or(blocked_by IS NOT NULL) FROM activity)
            ),
            -- pg_blocking_pids() gives 0 for a prepared transaction: which ones hold a lock on what the waiter awaits.
            prepared_blockers AS (
                SELECT DISTINCT w.pid AS waiter, p.gid, p.owner, p.database, p.prepared
                  FROM locks w
                  JOIN locks h ON h.granted AND h.pid IS NULL
                              AND (h.locktype, h.database, h.relation, h.page, h.tuple, h.virtualxid, h.transactionid,
                                   h.classid, h.objid, h.objsubid)
                                  IS NOT DISTINCT FROM
                                  (w.locktype, w.database, w.relation, w.page, w.tuple, w.virtualxid, w.transactionid,
                                   w.classid, w.objid, w.objsubid)
                  JOIN locks x ON x.granted AND x.pid IS NULL AND x.locktype = 'transactionid'
                              AND x.virtualtransaction = h.virtualtransaction
                  JOIN pg_prepared_xacts p ON p.transaction = x.transactionid
                 WHERE NOT w.granted
                   AND (SELECT bool_or(0 = ANY(blocked_by)) FROM activity)
            )
            SELECT a.pid, a.backend_type, a.datname, a.usename, a.application_name,
                   host(a.client_addr) AS client_addr, a.client_port, a.state, a.wait_event_type, a.wait_event,
                   -- greatest() ignores NULLs: without the CASE a backend with no transaction would be 0 s old.
                   CASE WHEN a.xact_start IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - a.xact_start))::float8 END AS xact_age_seconds,
                   CASE WHEN a.state_change IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - a.state_change))::float8 END AS state_age_seconds,
                   a.blocked_by,
                   CASE WHEN 0 = ANY(a.blocked_by)
                        THEN ARRAY(SELECT pb.gid FROM prepared_blockers pb WHERE pb.waiter = a.pid ORDER BY pb.prepared)
                        END AS blocked_by_prepared,
                   CASE WHEN a.blocked_by IS NOT NULL
                        THEN greatest(0, extract(epoch FROM now() - %2$s))::float8 END AS lock_wait_seconds,
                   CASE WHEN a.pid = (SELECT o.pid FROM activity o WHERE o.backend_type = 'client backend'
                                       ORDER BY o.pid = pg_backend_pid(), o.xact_start NULLS LAST LIMIT 1)
                          OR a.pid = ANY (SELECT unnest(b.blocked_by) FROM activity b)
                        THEN left(a.query, 200) END AS query,
                   NULL AS prepared_gid
              FROM activity a
             WHERE a.backend_type = 'client backend' OR a.blocked_by IS NOT NULL
                OR a.pid = ANY (SELECT unnest(b.blocked_by) FROM activity b)
            UNION ALL
            SELECT 0, 'prepared transaction', p.database, p.owner, NULL, NULL, NULL, NULL, NULL, NULL,
                   greatest(0, extract(epoch FROM now() - p.prepared))::float8, NULL, NULL, NULL, NULL, NULL, p.gid
              FROM (SELECT DISTINCT gid, database, owner, prepared FROM prepared_blockers) p
            """;

    static final String SQL_14 = SQL.formatted(WAIT_START_14, WAITED_SINCE_14);
    static final String SQL_13 = SQL.formatted(WAIT_START_13, WAITED_SINCE_13);

    static final String CLIENT_BACKEND = "client backend";
    static final String PREPARED_TRANSACTION = "prepared transaction";

    /**
     * One backend.
     *
     * @param xactAgeSeconds    age of its open transaction, null when none is open
     * @param stateAgeSeconds   time since its state last changed, null when unknown
     * @param query             first 200 characters of its query, only on the oldest transaction's row
     *                          and on the rows of backends that block another
     * @param backendType       {@code backend_type}; null in polls recorded before it was read
     * @param clientAddr        {@code client_addr}, null for a Unix-socket client
     * @param clientPort        {@code client_port}, -1 for a Unix-socket client
     * @param blockedBy         {@code pg_blocking_pids()}, only while it waits on a lock (0: a prepared
     *                          transaction), else null
     * @param blockedByPrepared gids of the prepared transactions holding a lock on what it waits for,
     *                          only when {@code blockedBy} holds 0, else null
     * @param lockWaitSeconds   how long it has waited on a lock (on 13 since its statement began),
     *                          only while it waits on one
     */
    public record Backend(int pid, String datname, String usename, String applicationName, String state,
            boolean waitingOnLock, Double xactAgeSeconds, Double stateAgeSeconds, String query, String backendType,
            String clientAddr, Integer clientPort, String waitEventType, String waitEvent, List<Integer> blockedBy,
            List<String> blockedByPrepared, Double lockWaitSeconds) {

        public Backend {
            blockedBy = blockedBy == null ? null : List.copyOf(blockedBy);
            blockedByPrepared = blockedByPrepared == null ? null : List.copyOf(blockedByPrepared);
        }

        boolean idleInTransaction() {
            return state != null && state.startsWith("idle in transaction");
        }

        /** "10.1.2.3:51234", "local socket", or null when unknown. */
        String client() {
            if (clientAddr != null) {
                return clientPort == null || clientPort < 0 ? clientAddr : clientAddr + ":" + clientPort;
            }
            return clientPort != null && clientPort == -1 ? "local socket" : null;
        }
    }

    /**
     * A prepared transaction holding a lock that a backend waits for.
     *
     * @param ageSeconds time since it was prepared
     */
    public record PreparedTransaction(String gid, String database, String owner, double ageSeconds) {
    }

    /**
     * Every client backend, pgvigil's own pid, and what else takes part in a lock wait.
     *
     * @param otherBackends backends other than client backends that wait on a lock or block one that
     *                      does (an autovacuum worker, a parallel worker)
     * @param prepared      prepared transactions holding a lock that a backend waits for
     */
    public record Activity(List<Backend> backends, int ownPid, List<Backend> otherBackends,
            List<PreparedTransaction> prepared) {

        public Activity {
            backends = List.copyOf(backends);
            // Polls recorded before issue 14 have neither list.
            otherBackends = otherBackends == null ? List.of() : List.copyOf(otherBackends);
            prepared = prepared == null ? List.of() : List.copyOf(prepared);
        }

        public Activity(List<Backend> backends, int ownPid) {
            this(backends, ownPid, List.of(), List.of());
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

        /** datname → the longest time a client backend there has waited for a heavyweight lock, 0 when none waits. */
        public Map<String, Double> longestLockWaitByDatabase() {
            Map<String, Double> longest = new TreeMap<>();
            for (Backend b : backends) {
                double wait = b.waitingOnLock() && b.lockWaitSeconds() != null ? b.lockWaitSeconds() : 0;
                longest.merge(nonNull(b.datname()), wait, Math::max);
            }
            return longest;
        }

        /**
         * What the active client backends (not pgvigil's) wait on, at most {@code max} pairs, the most
         * frequent first; the rest count under their type with the event {@value #OTHER_WAIT_EVENT}. A
         * backend that waits on nothing (on CPU) counts under ("", "").
         */
        public Map<WaitEvent, Integer> activeByWaitEvent(int max) {
            Map<WaitEvent, Integer> counts = new TreeMap<>();
            withoutPgvigil().filter(b -> "active".equals(b.state()))
                    .forEach(b -> counts.merge(new WaitEvent(nonNull(b.waitEventType()), nonNull(b.waitEvent())), 1,
                            Integer::sum));
            if (counts.size() <= max) {
                return counts;
            }
            List<Map.Entry<WaitEvent, Integer>> ranked = new ArrayList<>(counts.entrySet());
            ranked.sort(Map.Entry.<WaitEvent, Integer>comparingByValue().reversed());
            Map<WaitEvent, Integer> capped = new TreeMap<>();
            for (int i = 0; i < ranked.size(); i++) {
                WaitEvent w = ranked.get(i).getKey();
                capped.merge(i < max ? w : new WaitEvent(w.type(), OTHER_WAIT_EVENT), ranked.get(i).getValue(),
                        Integer::sum);
            }
            return capped;
        }

        /** The backend (not pgvigil's) whose open transaction is oldest. */
        public Optional<Backend> oldestTransaction() {
            return withoutPgvigil().filter(b -> b.xactAgeSeconds() != null)
                    .max(Comparator.comparingDouble(Backend::xactAgeSeconds));
        }

        /** The longest time any session (not pgvigil's) has sat idle inside an open transaction. */
        public double longestIdleInTransactionSeconds() {
            return withoutPgvigil().filter(Backend::idleInTransaction).filter(b -> b.stateAgeSeconds() != null)
                    .mapToDouble(Backend::stateAgeSeconds).max().orElse(0);
        }

        private java.util.stream.Stream<Backend> withoutPgvigil() {
            return backends.stream().filter(b -> b.pid() != ownPid);
        }

        private static String nonNull(String s) {
            return s == null ? "" : s;
        }
    }

    /** The wait event under which the pairs beyond the cap are counted. */
    public static final String OTHER_WAIT_EVENT = "other";

    /** A {@code (wait_event_type, wait_event)} pair; both "" for a backend that waits on nothing. */
    public record WaitEvent(String type, String event) implements Comparable<WaitEvent> {

        @Override
        public int compareTo(WaitEvent o) {
            int byType = type.compareTo(o.type);
            return byType != 0 ? byType : event.compareTo(o.event);
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
        List<Backend> others = new ArrayList<>();
        List<PreparedTransaction> prepared = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(server.major() >= 14 ? SQL_14 : SQL_13);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                String backendType = rs.getString("backend_type");
                if (PREPARED_TRANSACTION.equals(backendType)) {
                    prepared.add(new PreparedTransaction(rs.getString("prepared_gid"), rs.getString("datname"),
                            rs.getString("usename"), rs.getDouble("xact_age_seconds")));
                    continue;
                }
                String waitEventType = rs.getString("wait_event_type");
                Backend b = new Backend(rs.getInt("pid"), rs.getString("datname"), rs.getString("usename"),
                        rs.getString("application_name"), rs.getString("state"), "Lock".equals(waitEventType),
                        rs.getObject("xact_age_seconds", Double.class), rs.getObject("state_age_seconds", Double.class),
                        rs.getString("query"), backendType, rs.getString("client_addr"),
                        rs.getObject("client_port", Integer.class), waitEventType, rs.getString("wait_event"),
                        list(rs.getArray("blocked_by"), Integer.class), list(rs.getArray("blocked_by_prepared"), String.class),
                        rs.getObject("lock_wait_seconds", Double.class));
                (CLIENT_BACKEND.equals(backendType) ? backends : others).add(b);
            }
        }
        return new Activity(backends, server.backendPid(), others, prepared);
    }

    private static <E> List<E> list(Array array, Class<E> type) throws SQLException {
        if (array == null) {
            return null;
        }
        Object[] elements = (Object[]) array.getArray();
        List<E> list = new ArrayList<>(elements.length);
        for (Object e : elements) {
            list.add(type.cast(e));
        }
        return list;
    }
}
