package io.pgvigil.horizon;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;
import io.pgvigil.horizon.XminHorizonCollector.Kind;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;

/**
 * What holds the xmin horizon back, per kind of holder: always the four kinds (a bounded label set),
 * 0 for a kind that holds nothing. Derived (the oldest of each kind, counted), hence {@code pgvigil_}.
 *
 * <pre>
 * pgvigil_xmin_horizon_age_transactions{holder="prepared_transaction"} 1.2345E7
 * pgvigil_xmin_horizon_age_transactions{holder="backend"} 12.0
 * pgvigil_xmin_horizon_holders{holder="prepared_transaction"} 1.0
 * </pre>
 */
@Singleton
public class HorizonMetrics implements MetricsGroup {

    public static final String SECTION = "horizon";
    public static final MetricFamily AGE = MetricFamily.gauge(SECTION, "pgvigil_xmin_horizon_age_transactions",
            "Transactions the oldest holder of each kind is behind the next transaction ID (`age()` of its xmin), by `holder`: `backend` (`backend_xmin`/`backend_xid` in `pg_stat_activity`, not pgvigil's own, autovacuum's or a lazy VACUUM's), `prepared_transaction` (`pg_prepared_xacts`), `replication_slot` (`xmin`/`catalog_xmin`, not an invalidated slot), `standby` (a WAL sender's `backend_xmin`: `hot_standby_feedback`). 0 when no holder of that kind holds one. The highest is how far back vacuum must keep deleted rows.",
            "holder");
    public static final MetricFamily HOLDERS = MetricFamily.gauge(SECTION, "pgvigil_xmin_horizon_holders",
            "How many of each kind hold an xmin now (backends with a snapshot or a transaction ID, prepared transactions, slots, standbys sending feedback), by `holder`.",
            "holder");

    @Override
    public List<MetricFamily> families() {
        return List.of(AGE, HOLDERS);
    }

    @Override
    public void publish(PollState state, Series out) {
        Optional<Horizon> horizon = state.up() ? state.snapshot().get(Horizon.class) : Optional.empty();
        Map<Tags, Double> age = new HashMap<>();
        Map<Tags, Double> holders = new HashMap<>();
        horizon.ifPresent(h -> {
            for (Kind kind : Kind.values()) {
                Tags tags = Tags.of("holder", kind.label());
                age.put(tags, h.of(kind).map(x -> (double) x.age()).orElse(0.0));
                holders.put(tags, h.of(kind).map(x -> (double) x.holders()).orElse(0.0));
            }
        });
        out.set(AGE, age);
        out.set(HOLDERS, holders);
    }
}
