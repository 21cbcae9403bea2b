package io.pgvigil.page;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import io.pgvigil.activity.LockChains;
import io.pgvigil.activity.LockChains.Holder;
import io.pgvigil.activity.SettingsCollector.ConnectionSettings;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Catalog;
import io.pgvigil.core.LatestState;
import io.pgvigil.core.PollState;
import io.pgvigil.http.NoData;
import io.pgvigil.http.OpenApiDocument;
import io.pgvigil.pgbouncer.Poolers;
import io.pgvigil.replication.ReplicationSlotsCollector.Slot;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.replication.StatReplicationCollector.Standby;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.statements.SqlText;

/**
 * What the page at {@code /} needs beyond the other endpoints: {@code GET /api/v1/activity} (connections
 * by state against usable slots, the blocking chains, standbys, slots and PgBouncer pools of the latest
 * poll) and {@code GET /api/v1/history} (the last hour of {@link PageHistory}). Both read memory only.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
public class PageResource {

    @Inject
    LatestState latest;

    @Inject
    PageHistory history;

    @Inject
    PgvigilConfig config;

    @GET
    @Path("/activity")
    @Tag(name = "status")
    @Operation(summary = "Connections, blocking chains, replication and pools of the latest poll",
            description = "Client connections by database and state against the usable slots, each lock chain with its "
                    + "root blocker and waiters, the standbys and replication slots, and each watched PgBouncer's pools. "
                    + "503 (no-poll-yet, target-down) when the latest poll did not reach the target. A part whose "
                    + "collector is off or failed is null.")
    @APIResponse(responseCode = "200", description = "What the latest poll saw")
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    @APIResponse(responseCode = "503", ref = OpenApiDocument.NO_DATA)
    public ActivityView activity() {
        PollState state = latest.get();
        NoData.requireTarget(state, config.interval());
        Activity activity = state.snapshot().get(Activity.class).orElse(null);
        ConnectionSettings settings = state.snapshot().get(ConnectionSettings.class).orElse(null);
        Connections connections = null;
        List<Chain> chains = null;
        if (activity != null) {
            List<StateCount> byState = new ArrayList<>();
            activity.byDatabaseAndState().forEach((db, states) -> states.forEach(
                    (s, n) -> byState.add(new StateCount(db.isEmpty() ? null : db, s.isEmpty() ? null : s, n))));
            connections = new Connections(activity.clientBackends(),
                    settings == null ? null : settings.maxConnections(),
                    settings == null ? null : settings.usableSlots(), byState);
            chains = chains(activity);
        }
        return new ActivityView(state.snapshot().at(), connections, chains,
                state.snapshot().get(Standbys.class).map(Standbys::standbys).orElse(null),
                state.snapshot().get(Slots.class).map(Slots::slots).orElse(null),
                state.snapshot().get(Poolers.class).map(Poolers::readings).orElse(List.of()).stream()
                        .map(PoolerView::of).toList());
    }

    private List<Chain> chains(Activity activity) {
        Map<Integer, Backend> byPid = new java.util.HashMap<>();
        activity.backends().forEach(b -> byPid.put(b.pid(), b));
        activity.otherBackends().forEach(b -> byPid.put(b.pid(), b));
        int textMax = config.statements().textMaxLength();
        List<Chain> chains = new ArrayList<>();
        for (LockChains.Chain c : LockChains.of(activity).chains()) {
            List<BackendView> waiters = c.blocked().stream().sorted().map(h -> backend(h, byPid, textMax)).toList();
            chains.add(new Chain(backend(c.root(), byPid, textMax), c.blockedDirectly(), c.blockedInTotal(), c.depth(),
                    waiters));
        }
        return chains;
    }

    private static BackendView backend(Holder h, Map<Integer, Backend> byPid, int textMax) {
        Backend b = h.isPrepared() ? null : byPid.get(h.pid());
        if (b == null) {
            return new BackendView(h.isPrepared() ? null : h.pid(), h.gid(), null, null, null, null, null, null,
                    null, null, null);
        }
        return new BackendView(b.pid(), null, b.datname(), b.usename(), b.applicationName(), b.state(),
                b.xactAgeSeconds(), b.lockWaitSeconds(), b.waitEventType(), b.waitEvent(),
                b.query() == null ? null : SqlText.redact(b.query(), textMax));
    }

    @Schema(name = "Activity", description = "Connections, lock chains, replication and pools of the latest poll")
    @JsonPropertyOrder({ "asOf", "connections", "lockChains", "standbys", "slots", "poolers" })
    public record ActivityView(
            @Schema(required = true, description = "When the poll began (ISO-8601, UTC)") Instant asOf,
            @Schema(nullable = true, description = "null when pg_stat_activity was not read") Connections connections,
            @Schema(nullable = true, description = "Root blockers, most waiters first; empty when nothing waits on a "
                    + "lock; null when pg_stat_activity was not read") List<Chain> lockChains,
            @Schema(nullable = true, description = "pg_stat_replication's rows; null when not read (a standby, or "
                    + "the collector failed)") List<Standby> standbys,
            @Schema(nullable = true, description = "pg_replication_slots' rows; null when not read") List<Slot> slots,
            @Schema(required = true, description = "Each watched PgBouncer; empty when none is configured")
            List<PoolerView> poolers) {
    }

    @Schema(name = "Connections", description = "Client backends against the usable slots")
    @JsonPropertyOrder({ "clientBackends", "maxConnections", "usableSlots", "byState" })
    public record Connections(@Schema(required = true) int clientBackends,
            @Schema(nullable = true, description = "max_connections; null when the settings were not read")
            Integer maxConnections,
            @Schema(nullable = true, description = "max_connections minus the reserved slots") Integer usableSlots,
            @Schema(required = true, description = "Client backends per database and state") List<StateCount> byState) {
    }

    @Schema(name = "StateCount")
    @JsonPropertyOrder({ "database", "state", "count" })
    public record StateCount(@Schema(nullable = true) String database, @Schema(nullable = true) String state,
            @Schema(required = true) int count) {
    }

    @Schema(name = "LockChain", description = "A root blocker and every backend waiting behind it")
    @JsonPropertyOrder({ "root", "blockedDirectly", "blockedInTotal", "depth", "waiters" })
    public record Chain(@Schema(required = true) BackendView root, @Schema(required = true) int blockedDirectly,
            @Schema(required = true) int blockedInTotal,
            @Schema(required = true, description = "Longest run of waits down from the root") int depth,
            @Schema(required = true, description = "Every backend waiting behind the root, directly or not, by pid")
            List<BackendView> waiters) {
    }

    @Schema(name = "Backend", description = "A backend (or a prepared transaction, by gid) in a lock chain")
    @JsonPropertyOrder({ "pid", "gid", "database", "user", "applicationName", "state", "xactAgeSeconds",
            "lockWaitSeconds", "waitEventType", "waitEvent", "query" })
    public record BackendView(@Schema(nullable = true) Integer pid,
            @Schema(nullable = true, description = "A prepared transaction's gid") String gid,
            @Schema(nullable = true) String database, @Schema(nullable = true) String user,
            @Schema(nullable = true) String applicationName, @Schema(nullable = true) String state,
            @Schema(nullable = true) Double xactAgeSeconds, @Schema(nullable = true) Double lockWaitSeconds,
            @Schema(nullable = true) String waitEventType, @Schema(nullable = true) String waitEvent,
            @Schema(nullable = true, description = "Its query (running, or the last one of an idle session), "
                    + "literals masked, its first 200 characters: only for a backend another waits behind (the root, "
                    + "and a waiter that itself blocks others) or the one with the oldest open transaction; null for "
                    + "any other waiter and for a prepared transaction") String query) {
    }

    @Schema(name = "Pooler", description = "One watched PgBouncer in the latest poll")
    @JsonPropertyOrder({ "name", "address", "up", "error", "version", "pools" })
    public record PoolerView(@Schema(required = true) String name, @Schema(required = true) String address,
            @Schema(required = true) boolean up, @Schema(nullable = true) String error,
            @Schema(nullable = true) String version, @Schema(required = true) List<Poolers.Pool> pools) {

        static PoolerView of(Poolers.Reading r) {
            return new PoolerView(r.name(), r.address(), r.up(), r.error(), r.version(), r.pools());
        }
    }

    @GET
    @Path("/config")
    @Tag(name = "status")
    @Operation(summary = "pgvigil's configuration, without a secret",
            description = "The settings that shape what pgvigil reports: intervals, what is visited, plans, whether "
                    + "tokens and a PgBouncer are set (never their values or a password), and each enabled check's "
                    + "thresholds as the latest poll applied them. Always 200.")
    @APIResponse(responseCode = "200", description = "The configuration summary")
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    public ConfigView config() {
        return new ConfigView(config.interval().toMillis() / 1000.0, config.findings().max(),
                config.databases().include(), config.databases().exclude().orElse(List.of()),
                config.indexes().enabled(), config.indexes().interval().toMillis() / 1000.0, config.plans().enabled(),
                config.pgbouncer().url().isPresent(), config.api().token().isPresent()
                        || config.api().tokenFile().isPresent(),
                config.metrics().token().isPresent() || config.metrics().tokenFile().isPresent(),
                latest.get().thresholds(), units());
    }

    /** Each check's unit, by check id: what its value and thresholds are measured in. */
    static Map<String, String> units() {
        Map<String, String> units = new java.util.TreeMap<>();
        Catalog.CHECKS.forEach(spec -> units.put(spec.id(), spec.unit().name().toLowerCase(java.util.Locale.ROOT)));
        return units;
    }

    @Schema(name = "Config", description = "pgvigil's configuration, without a secret")
    @JsonPropertyOrder({ "intervalSeconds", "findingsMax", "databasesInclude", "databasesExclude", "indexesEnabled",
            "indexesIntervalSeconds", "plansEnabled", "pgbouncer", "apiToken", "metricsToken", "thresholds", "units" })
    public record ConfigView(@Schema(required = true, description = "pgvigil.interval, in seconds") double intervalSeconds,
            @Schema(required = true, description = "pgvigil.findings.max") int findingsMax,
            @Schema(required = true, description = "pgvigil.databases.include") List<String> databasesInclude,
            @Schema(required = true, description = "pgvigil.databases.exclude") List<String> databasesExclude,
            @Schema(required = true, description = "pgvigil.indexes.enabled") boolean indexesEnabled,
            @Schema(required = true, description = "pgvigil.indexes.interval, in seconds") double indexesIntervalSeconds,
            @Schema(required = true, description = "pgvigil.plans.enabled") boolean plansEnabled,
            @Schema(required = true, description = "Whether a PgBouncer is watched (pgvigil.pgbouncer.url)") boolean pgbouncer,
            @Schema(required = true, description = "Whether /api/* needs a token (never the token)") boolean apiToken,
            @Schema(required = true, description = "Whether /metrics needs a token (never the token)") boolean metricsToken,
            @Schema(required = true, description = "Each enabled check's thresholds by severity, as the latest poll "
                    + "applied them (in the check's unit, docs/checks.md); empty before the first poll")
            Map<String, Map<String, Double>> thresholds,
            @Schema(required = true, description = "Each check's unit: ratio, seconds, bytes, factor, intervals, "
                    + "transactions or trigger_multiple") Map<String, String> units) {
    }

    @GET
    @Path("/history")
    @Tag(name = "status")
    @Operation(summary = "The last hour, at poll resolution, of what the page plots",
            description = "Each poll's time, whether the target answered, client connections, usable slots and open "
                    + "findings, and the value of each finding open in that hour (from when it opened). Held in a "
                    + "fixed-size ring in memory: at most 720 polls and 100 findings. Always 200; empty before the "
                    + "first poll.")
    @APIResponse(responseCode = "200", description = "The history, oldest first")
    @APIResponse(responseCode = "401", ref = OpenApiDocument.UNAUTHORIZED)
    @APIResponse(responseCode = "500", ref = OpenApiDocument.INTERNAL_ERROR)
    public HistoryView history() {
        PageHistory.View view = history.view();
        return new HistoryView(config.interval().toMillis() / 1000.0, history.capacity(), view.points(),
                view.series());
    }

    @Schema(name = "History", description = "The last hour of polls, oldest first")
    @JsonPropertyOrder({ "intervalSeconds", "capacity", "points", "series" })
    public record HistoryView(@Schema(required = true, description = "pgvigil.interval, in seconds")
            double intervalSeconds,
            @Schema(required = true, description = "Most polls held") int capacity,
            @Schema(required = true) List<PageHistory.Point> points,
            @Schema(required = true, description = "One per finding open in these polls; values align with points")
            List<PageHistory.Series> series) {
    }
}
