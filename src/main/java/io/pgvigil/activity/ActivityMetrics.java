package io.pgvigil.activity;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.activity.SettingsCollector.ConnectionSettings;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;

/**
 * Connections and open transactions (pg_stat_activity) and the connection settings.
 *
 * <pre>
 * pg_connections{datname="shop",state="idle in transaction"} 3.0
 * pg_connections_waiting_on_lock{datname="shop"} 2.0
 * pgvigil_longest_lock_wait_seconds{datname="shop"} 25.3
 * pg_active_connections{wait_event="transactionid",wait_event_type="Lock"} 2.0
 * pg_oldest_transaction_age_seconds 12.5
 * pgvigil_connection_slots_usable 97.0
 * </pre>
 */
@Singleton
public class ActivityMetrics implements MetricsGroup {

    public static final String SECTION = "connections";
    /** Most (wait_event_type, wait_event) series per poll; PostgreSQL's wait events are a fixed set of a few hundred. */
    public static final int MAX_WAIT_EVENTS = 50;
    public static final MetricFamily CONNECTIONS = MetricFamily.gauge(SECTION, "pg_connections",
            "Client backends by database and state (`active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`, ...). pgvigil's own session is included: it takes a slot like any client. `datname` is empty for a backend not yet attached to a database.",
            "datname", "state");
    public static final MetricFamily WAITING_ON_LOCK = MetricFamily.gauge(SECTION, "pg_connections_waiting_on_lock",
            "Client backends waiting for a heavyweight lock (`wait_event_type = 'Lock'`).",
            "datname");
    public static final MetricFamily LONGEST_LOCK_WAIT = MetricFamily.gauge(SECTION, "pgvigil_longest_lock_wait_seconds",
            "Longest time a client backend has been waiting for a heavyweight lock, per database; 0 when none waits. From `pg_locks.waitstart` on PostgreSQL 14+; on 13, which lacks it, from the start of the waiting statement (`query_start`), an upper bound.",
            "datname");
    public static final MetricFamily ACTIVE_CONNECTIONS = MetricFamily.gauge(SECTION, "pg_active_connections",
            "Active client backends (pgvigil's own left out) by what each waits on as the poll looks: `wait_event_type` and `wait_event` as pg_stat_activity shows them, both empty for a backend that waits on nothing (running on CPU). A sample per poll, not a count of waits. At most " + ActivityMetrics.MAX_WAIT_EVENTS + " pairs; beyond them the rest count under their type with `wait_event=\"other\"`.",
            "wait_event_type", "wait_event");
    public static final MetricFamily OLDEST_TRANSACTION_AGE = MetricFamily.gauge(SECTION, "pg_oldest_transaction_age_seconds",
            "Age of the oldest open transaction (active or idle in transaction) of any session but pgvigil's; 0 when none is open.");
    public static final MetricFamily OLDEST_IDLE_IN_TRANSACTION = MetricFamily.gauge(SECTION, "pg_oldest_idle_in_transaction_seconds",
            "Longest time any session has sat idle inside an open transaction; 0 when none.");
    public static final MetricFamily MAX_CONNECTIONS = MetricFamily.gauge(SECTION, "pg_settings_max_connections",
            "`max_connections`.");
    public static final MetricFamily SUPERUSER_RESERVED = MetricFamily.gauge(SECTION, "pg_settings_superuser_reserved_connections",
            "`superuser_reserved_connections`.");
    public static final MetricFamily RESERVED = MetricFamily.gauge(SECTION, "pg_settings_reserved_connections",
            "`reserved_connections` (PostgreSQL 16+; absent before).");
    public static final MetricFamily SLOTS_USABLE = MetricFamily.gauge(SECTION, "pgvigil_connection_slots_usable",
            "Slots an ordinary client can take: `max_connections - superuser_reserved_connections - reserved_connections`.");

    @Override
    public List<MetricFamily> families() {
        return List.of(CONNECTIONS, WAITING_ON_LOCK, LONGEST_LOCK_WAIT, ACTIVE_CONNECTIONS, OLDEST_TRANSACTION_AGE, OLDEST_IDLE_IN_TRANSACTION, MAX_CONNECTIONS,
                SUPERUSER_RESERVED, RESERVED, SLOTS_USABLE);
    }

    @Override
    public void publish(PollState state, Series out) {
        Optional<Activity> activity = state.up() ? state.snapshot().get(Activity.class) : Optional.empty();
        Map<Tags, Double> connections = new HashMap<>();
        Map<Tags, Double> waiting = new HashMap<>();
        Map<Tags, Double> longestWait = new HashMap<>();
        Map<Tags, Double> active = new HashMap<>();
        activity.ifPresent(a -> {
            a.byDatabaseAndState().forEach((db, states) -> states.forEach((st, n) ->
                    connections.put(Tags.of("datname", db, "state", st), (double) n)));
            a.waitingOnLockByDatabase().forEach((db, n) -> waiting.put(Tags.of("datname", db), (double) n));
            a.longestLockWaitByDatabase().forEach((db, s) -> longestWait.put(Tags.of("datname", db), s));
            a.activeByWaitEvent(MAX_WAIT_EVENTS).forEach((w, n) -> active.put(Tags.of("wait_event_type", w.type(),
                    "wait_event", w.event()), (double) n));
        });
        out.set(CONNECTIONS, connections);
        out.set(WAITING_ON_LOCK, waiting);
        out.set(LONGEST_LOCK_WAIT, longestWait);
        out.set(ACTIVE_CONNECTIONS, active);
        out.set(OLDEST_TRANSACTION_AGE,
                activity.map(a -> a.oldestTransaction().map(b -> b.xactAgeSeconds()).orElse(0.0)).orElse(null));
        out.set(OLDEST_IDLE_IN_TRANSACTION, activity.map(Activity::longestIdleInTransactionSeconds).orElse(null));

        Optional<ConnectionSettings> settings = state.up() ? state.snapshot().get(ConnectionSettings.class)
                : Optional.empty();
        out.set(MAX_CONNECTIONS, settings.map(s -> (double) s.maxConnections()).orElse(null));
        out.set(SUPERUSER_RESERVED, settings.map(s -> (double) s.superuserReservedConnections()).orElse(null));
        out.set(RESERVED, settings.map(ConnectionSettings::reservedConnections).map(Integer::doubleValue).orElse(null));
        out.set(SLOTS_USABLE, settings.map(s -> (double) s.usableSlots()).orElse(null));
    }
}
