package io.pgvigil.metrics;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;

/**
 * One metric family whose set of label values follows the data: each {@link #set} registers the
 * series that are new, updates the rest and removes those that are gone, so a database that was
 * dropped or a finding that cleared leaves no stale series behind.
 */
final class SeriesFamily {

    private static final class Value {
        volatile double value;
    }

    private final MeterRegistry registry;
    private final MetricFamily family;
    private final Set<String> labels;
    private final Map<Tags, Value> values = new HashMap<>();
    private final Map<Tags, Meter> meters = new HashMap<>();

    SeriesFamily(MeterRegistry registry, MetricFamily family) {
        this.registry = registry;
        this.family = family;
        this.labels = Set.copyOf(family.labels());
    }

    /** Makes the family's series exactly {@code series}; every series must carry exactly the declared labels. */
    synchronized void set(Map<Tags, Double> series) {
        for (Map.Entry<Tags, Double> e : series.entrySet()) {
            Set<String> keys = new HashSet<>();
            for (Tag t : e.getKey()) {
                keys.add(t.getKey());
            }
            if (!keys.equals(labels)) {
                throw new IllegalArgumentException(family.name() + " declares labels " + family.labels() + ", got " + keys);
            }
            values.computeIfAbsent(e.getKey(), this::register).value = e.getValue();
        }
        for (Iterator<Map.Entry<Tags, Value>> it = values.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Tags, Value> e = it.next();
            if (!series.containsKey(e.getKey())) {
                registry.remove(meters.remove(e.getKey()));
                it.remove();
            }
        }
    }

    /** Removes every series of the family from the registry. */
    synchronized void removeAll() {
        meters.values().forEach(registry::remove);
        meters.clear();
        values.clear();
    }

    private Value register(Tags tags) {
        Value holder = new Value();
        Meter meter = switch (family.type()) {
            case GAUGE -> Gauge.builder(family.name(), holder, v -> v.value).description(family.help()).tags(tags)
                    .strongReference(true).register(registry);
            case COUNTER -> FunctionCounter.builder(family.name(), holder, v -> v.value).description(family.help())
                    .tags(tags).register(registry);
        };
        meters.put(tags, meter);
        return holder;
    }
}
