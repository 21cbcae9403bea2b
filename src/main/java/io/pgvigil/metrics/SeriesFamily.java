package io.pgvigil.metrics;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/**
 * One metric family whose set of label values follows the data: each {@link #set} registers the
 * series that are new, updates the rest and removes those that are gone, so a database that was
 * dropped or a finding that cleared leaves no stale series behind.
 */
final class SeriesFamily {

    enum Type { GAUGE, COUNTER }

    private static final class Value {
        volatile double value;
    }

    private final MeterRegistry registry;
    private final String name;
    private final String help;
    private final Type type;
    private final Map<Tags, Value> values = new HashMap<>();
    private final Map<Tags, Meter> meters = new HashMap<>();

    SeriesFamily(MeterRegistry registry, String name, String help, Type type) {
        this.registry = registry;
        this.name = name;
        this.help = help;
        this.type = type;
    }

    /** Makes the family's series exactly {@code series}. */
    synchronized void set(Map<Tags, Double> series) {
        for (Map.Entry<Tags, Double> e : series.entrySet()) {
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

    /** A family without labels: one series, or none when {@code value} is null. */
    void set(Double value) {
        set(value == null ? Map.of() : Map.of(Tags.empty(), value));
    }

    private Value register(Tags tags) {
        Value holder = new Value();
        Meter meter = switch (type) {
            case GAUGE -> Gauge.builder(name, holder, v -> v.value).description(help).tags(tags)
                    .strongReference(true).register(registry);
            case COUNTER -> FunctionCounter.builder(name, holder, v -> v.value).description(help).tags(tags)
                    .register(registry);
        };
        meters.put(tags, meter);
        return holder;
    }
}
