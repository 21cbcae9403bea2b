package io.pgvigil.pgbouncer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.pgbouncer.Poolers.Pool;
import io.pgvigil.pgbouncer.Poolers.Reading;
import io.pgvigil.pgbouncer.Poolers.Stats;

/**
 * PgBouncer's pools, databases and counters, read from its admin console. Every name starts
 * {@code pgvigil_pgbouncer_}, so none can clash with prometheus-community's pgbouncer_exporter
 * ({@code pgbouncer_*}), which a user may run too; every series carries {@code pgbouncer}, the watched
 * PgBouncer's name. {@code database} is PgBouncer's database name (its {@code [databases]} entry), not
 * necessarily PostgreSQL's datname.
 *
 * <pre>
 * pgvigil_pgbouncer_up{pgbouncer="pgbouncer"} 1.0
 * pgvigil_pgbouncer_pool_client_connections{database="app",pgbouncer="pgbouncer",state="waiting",user="app"} 3.0
 * pgvigil_pgbouncer_pool_server_connections{database="app",pgbouncer="pgbouncer",state="active",user="app"} 2.0
 * pgvigil_pgbouncer_pool_max_wait_seconds{database="app",pgbouncer="pgbouncer",user="app"} 2.4
 * pgvigil_pgbouncer_database_pool_size{database="app",pgbouncer="pgbouncer"} 2.0
 * pgvigil_pgbouncer_transactions_total{database="app",pgbouncer="pgbouncer"} 1520.0
 * pgvigil_pgbouncer_client_wait_seconds_total{database="app",pgbouncer="pgbouncer"} 12.7
 * </pre>
 */
@Singleton
public class PgBouncerMetrics implements MetricsGroup {

    public static final String SECTION = "pgbouncer";
    public static final MetricFamily UP = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_up",
            "1 when the last poll read the PgBouncer's admin console, 0 when it could not (down, login refused: `/api/v1/status` says why). Present for every configured PgBouncer.",
            "pgbouncer");
    public static final MetricFamily CLIENTS = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_pool_client_connections",
            "Client connections of a pool (`SHOW POOLS`): `state=\"active\"` (`cl_active`, linked to a server connection or idle), `\"waiting\"` (`cl_waiting`, queued for a server connection).",
            "pgbouncer", "database", "user", "state");
    public static final MetricFamily SERVERS = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_pool_server_connections",
            "Server connections of a pool (`SHOW POOLS`): `state=\"active\"` (linked to a client), `\"idle\"` (free to use), `\"used\"` (free, awaiting the reset/check query), `\"tested\"` (running it), `\"login\"` (logging in to PostgreSQL).",
            "pgbouncer", "database", "user", "state");
    public static final MetricFamily MAX_WAIT = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_pool_max_wait_seconds",
            "How long the oldest waiting client of a pool has waited for a server connection (`maxwait` + `maxwait_us`); 0 when none waits. `pooler_saturation` judges it.",
            "pgbouncer", "database", "user");
    public static final MetricFamily POOL_SIZE = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_database_pool_size",
            "Server connections each user pool of a database may open (`SHOW DATABASES` `pool_size`: its `pool_size` or `default_pool_size`).",
            "pgbouncer", "database");
    public static final MetricFamily RESERVE_POOL = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_database_reserve_pool",
            "Extra server connections a pool may open when a client has waited `reserve_pool_timeout` (`SHOW DATABASES` `reserve_pool`).",
            "pgbouncer", "database");
    public static final MetricFamily MAX_CONNECTIONS = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_database_max_connections",
            "`max_db_connections` of a database: server connections of all its pools together; 0 for no limit (`SHOW DATABASES` `max_connections`).",
            "pgbouncer", "database");
    public static final MetricFamily CURRENT_CONNECTIONS = MetricFamily.gauge(SECTION, "pgvigil_pgbouncer_database_current_connections",
            "Server connections a database holds now, all its pools together (`SHOW DATABASES` `current_connections`).",
            "pgbouncer", "database");
    public static final MetricFamily TRANSACTIONS = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_transactions",
            "Transactions pooled since PgBouncer started (`SHOW STATS` `total_xact_count`); restarts at 0 with PgBouncer.",
            "pgbouncer", "database");
    public static final MetricFamily QUERIES = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_queries",
            "Queries pooled (`total_query_count`).",
            "pgbouncer", "database");
    public static final MetricFamily RECEIVED = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_received_bytes",
            "Bytes received from clients (`total_received`).",
            "pgbouncer", "database");
    public static final MetricFamily SENT = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_sent_bytes",
            "Bytes sent to clients (`total_sent`).",
            "pgbouncer", "database");
    public static final MetricFamily TRANSACTION_TIME = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_transaction_seconds",
            "Time spent in transactions, idle in transaction included (`total_xact_time`).",
            "pgbouncer", "database");
    public static final MetricFamily QUERY_TIME = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_query_seconds",
            "Time spent running queries (`total_query_time`).",
            "pgbouncer", "database");
    public static final MetricFamily WAIT_TIME = MetricFamily.counter(SECTION, "pgvigil_pgbouncer_client_wait_seconds",
            "Time clients spent waiting for a server connection (`total_wait_time`). Mean wait per transaction: `rate(pgvigil_pgbouncer_client_wait_seconds_total[5m]) / rate(pgvigil_pgbouncer_transactions_total[5m])`.",
            "pgbouncer", "database");

    @Override
    public List<MetricFamily> families() {
        return List.of(UP, CLIENTS, SERVERS, MAX_WAIT, POOL_SIZE, RESERVE_POOL, MAX_CONNECTIONS, CURRENT_CONNECTIONS,
                TRANSACTIONS, QUERIES, RECEIVED, SENT, TRANSACTION_TIME, QUERY_TIME, WAIT_TIME);
    }

    @Override
    public void publish(PollState state, Series out) {
        List<Reading> readings = Optional.ofNullable(state.snapshot()).flatMap(s -> s.get(Poolers.class))
                .map(Poolers::readings).orElse(List.of());
        Map<Tags, Double> up = new HashMap<>();
        Map<Tags, Double> clients = new HashMap<>();
        Map<Tags, Double> servers = new HashMap<>();
        Map<Tags, Double> maxWait = new HashMap<>();
        Map<MetricFamily, Map<Tags, Double>> byDatabase = new HashMap<>();
        for (MetricFamily f : List.of(POOL_SIZE, RESERVE_POOL, MAX_CONNECTIONS, CURRENT_CONNECTIONS, TRANSACTIONS, QUERIES,
                RECEIVED, SENT, TRANSACTION_TIME, QUERY_TIME, WAIT_TIME)) {
            byDatabase.put(f, new HashMap<>());
        }
        for (Reading r : readings) {
            up.put(Tags.of("pgbouncer", r.name()), r.up() ? 1.0 : 0.0);
            for (Pool p : r.pools()) {
                Tags pool = Tags.of("pgbouncer", r.name(), "database", p.database(), "user", p.user());
                put(clients, pool.and("state", "active"), p.clientsActive());
                put(clients, pool.and("state", "waiting"), p.clientsWaiting());
                put(servers, pool.and("state", "active"), p.serversActive());
                put(servers, pool.and("state", "idle"), p.serversIdle());
                put(servers, pool.and("state", "used"), p.serversUsed());
                put(servers, pool.and("state", "tested"), p.serversTested());
                put(servers, pool.and("state", "login"), p.serversLogin());
                put(maxWait, pool, p.maxWaitSeconds());
            }
            for (Poolers.Database d : r.databases()) {
                Tags db = Tags.of("pgbouncer", r.name(), "database", d.name());
                put(byDatabase.get(POOL_SIZE), db, d.poolSize());
                put(byDatabase.get(RESERVE_POOL), db, d.reservePool());
                put(byDatabase.get(MAX_CONNECTIONS), db, d.maxConnections());
                put(byDatabase.get(CURRENT_CONNECTIONS), db, d.currentConnections());
            }
            for (Stats s : r.stats()) {
                Tags db = Tags.of("pgbouncer", r.name(), "database", s.database());
                Map<MetricFamily, Function<Stats, Number>> counters = Map.of(TRANSACTIONS, Stats::transactions, QUERIES,
                        Stats::queries, RECEIVED, Stats::receivedBytes, SENT, Stats::sentBytes, TRANSACTION_TIME,
                        Stats::transactionSeconds, QUERY_TIME, Stats::querySeconds, WAIT_TIME, Stats::waitSeconds);
                counters.forEach((family, value) -> put(byDatabase.get(family), db, value.apply(s)));
            }
        }
        out.set(UP, up);
        out.set(CLIENTS, clients);
        out.set(SERVERS, servers);
        out.set(MAX_WAIT, maxWait);
        byDatabase.forEach(out::set);
    }

    private static void put(Map<Tags, Double> series, Tags tags, Number value) {
        if (value != null) {
            series.put(tags, value.doubleValue());
        }
    }
}
