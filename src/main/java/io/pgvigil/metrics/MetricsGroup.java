package io.pgvigil.metrics;

import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;

/**
 * The metrics of one feature: the families it declares and how a poll's state fills them. Groups are
 * CDI beans collected by {@link MetricsPublisher}, listed in {@code core.Catalog} for tests and docs.
 */
public interface MetricsGroup {

    /** Every family this group publishes; publishing an undeclared one is a bug the publisher refuses. */
    List<MetricFamily> families();

    /** Sets every family of the group from {@code state}: a family left unset keeps no series. */
    void publish(PollState state, Series out);

    /** Where a group writes: each call makes the family's series exactly the ones given. */
    interface Series {
        void set(MetricFamily family, Map<Tags, Double> series);

        /** A family without labels: one series, or none when {@code value} is null. */
        default void set(MetricFamily family, Double value) {
            set(family, value == null ? Map.of() : Map.of(Tags.empty(), value));
        }
    }
}
