package io.pgvigil.metrics;

import java.util.List;

/**
 * One metric family, declared once by the feature that publishes it: name, type, labels, and the
 * sentence that is both its HELP text and its line in docs/metrics.md (which is generated from these
 * declarations). A counter's name is declared without {@code _total}; the exposition adds it.
 *
 * @param section the docs/metrics.md section it is listed in
 * @param doc     what it means, in Markdown (backticks are dropped from the HELP text)
 */
public record MetricFamily(String name, Type type, List<String> labels, String section, String doc) {

    public enum Type {
        GAUGE, COUNTER
    }

    public MetricFamily {
        labels = List.copyOf(labels);
        if (!name.matches("(pg|pgvigil)_[a-z0-9_]+") || name.endsWith("_total")) {
            throw new IllegalArgumentException("metric names start with pg_ or pgvigil_ and counters omit _total: " + name);
        }
    }

    public static MetricFamily gauge(String section, String name, String doc, String... labels) {
        return new MetricFamily(name, Type.GAUGE, List.of(labels), section, doc);
    }

    public static MetricFamily counter(String section, String name, String doc, String... labels) {
        return new MetricFamily(name, Type.COUNTER, List.of(labels), section, doc);
    }

    /** The name samples carry: counters end in {@code _total}. */
    public String exposedName() {
        return type == Type.COUNTER ? name + "_total" : name;
    }

    /** The HELP text: the doc without Markdown. */
    public String help() {
        return doc.replace("`", "");
    }
}
