package io.pgvigil.metrics;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.quarkus.arc.All;

/**
 * Publishes each {@link PollState} as Prometheus series (through Micrometer, served at /metrics), by
 * asking every feature's {@link MetricsGroup} to fill the families it declared. Values are copied in
 * when a poll ends; a scrape reads them and never touches the database. Series whose data is gone (a
 * failed collector, a dropped database, a cleared finding) are removed. docs/metrics.md is generated
 * from the declared families.
 */
@ApplicationScoped
public class MetricsPublisher {

    private static final Logger LOG = Logger.getLogger(MetricsPublisher.class);

    private final List<MetricsGroup> groups;
    private final Map<MetricFamily, SeriesFamily> families = new HashMap<>();
    /** Last failure per group, so that a group that keeps failing is logged once. */
    private final Map<String, String> failing = new HashMap<>();

    @Inject
    public MetricsPublisher(MeterRegistry registry, @All List<MetricsGroup> groups) {
        this.groups = groups.stream().sorted(Comparator.comparing(g -> g.getClass().getName())).toList();
        Map<String, MetricFamily> byName = new HashMap<>();
        for (MetricsGroup group : this.groups) {
            for (MetricFamily family : group.families()) {
                MetricFamily before = byName.put(family.name(), family);
                if (before != null) {
                    throw new IllegalStateException("metric family " + family.name() + " is declared twice");
                }
                families.put(family, new SeriesFamily(registry, family));
            }
        }
    }

    public synchronized void publish(PollState state) {
        for (MetricsGroup group : groups) {
            String name = group.getClass().getSimpleName();
            try {
                group.publish(state, this::set);
                if (failing.remove(name) != null) {
                    LOG.infof("metrics of %s are published again", name);
                }
            } catch (RuntimeException e) {
                // One group's bug must not stop the others, nor the poll.
                if (!String.valueOf(e).equals(failing.put(name, String.valueOf(e)))) {
                    LOG.errorf(e, "metrics of %s could not be published", name);
                }
            }
        }
    }

    /**
     * Removes every series this publisher registered. The injected registry may outlive the
     * application (Micrometer's global composite does across a restart in the same JVM, as in
     * tests): a meter left there would be handed back, bound to this instance's dead values, to the
     * next publisher that registers the same series.
     */
    @PreDestroy
    public synchronized void close() {
        families.values().forEach(SeriesFamily::removeAll);
    }

    private void set(MetricFamily family, Map<Tags, Double> series) {
        SeriesFamily target = families.get(family);
        if (target == null) {
            throw new IllegalStateException(family.name() + " is not in its group's families()");
        }
        target.set(series);
    }
}
