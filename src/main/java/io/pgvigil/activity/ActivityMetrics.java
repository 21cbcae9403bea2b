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
 * pg_oldest_transaction_age_seconds 12.5
 * pgvigil_connection_slots_usable 97.0
 * </pre>
 */
@Singleton
public class ActivityMetrics implements MetricsGroup {

    public static final String SECTION = "connections";
    public static final MetricFamily CONNECTIONS = MetricFamily.gauge(SECTION, "pg_connections",
            "Client backends by database and state (`active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`, ...). pgvigil's own session is included: it takes a slot like any client. `datname` is empty for a backend not yet attached to a database.",
            "datname", "state");
    public static final MetricFamily WAITING_ON_LOCK = MetricFamily.gauge(SECTION, "pg_connections_waiting_on_lock",
            "Client backends waiting for a heavyweight lock (`wait_event_type = 'Lock'`).",
            "datname");
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
        return List.of(CONNECTIONS, WAITING_ON_LOCK, OLDEST_TRANSACTION_AGE, OLDEST_IDLE_IN_TRANSACTION, MAX_CONNECTIONS,
                SUPERUSER_RESERVED, RESERVED, SLOTS_USABLE);
    }

    @Override
    public void publish(PollState state, Series out) {
        Optional<Activity> activity = state.up() ? state.snapshot().get(Activity.class) : Optional.empty();
        Map<Tags, Double> connections = new HashMap<>();
        Map<Tags, Double> waiting = new HashMap<>();
        activity.ifPresent(a -> {
            a.byDatabaseAndState().forEach((db, states) -> states.forEach((st, n) ->
                    connections.put(Tags.of("datname", db, "state", st), (double) n)));
            a.waitingOnLockByDatabase().forEach((db, n) -> waiting.put(Tags.of("datname", db), (double) n));
        });
        out.set(CONNECTIONS, connections);
        out.set(WAITING_ON_LOCK, waiting);
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
