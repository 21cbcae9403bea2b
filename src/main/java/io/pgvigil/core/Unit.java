package io.pgvigil.core;

import java.util.Locale;

/**
 * The one unit of a check's value and thresholds. It decides how docs print a default and how an
 * alert renders {@code pgvigil_check_value} (a Prometheus template function).
 */
public enum Unit {
    /** 0-1; alerts print a percentage. */
    RATIO("ratio 0-1", "humanizePercentage"),
    SECONDS("seconds", "humanizeDuration"),
    BYTES("bytes", "humanize1024"),
    /** A multiple of a baseline. */
    FACTOR("times the baseline", "printf \"%.1f times its baseline\""),
    /** A count of transaction IDs (how far the xmin horizon is behind); alerts print 60M. */
    TRANSACTIONS("transactions", "humanize"),
    /** A rate: events per second (n_plus_one's avoidable round trips); alerts print 12.5 per second. */
    PER_SECOND("per second", "printf \"%.1f per second\""),
    /** A multiple of the subject's own autovacuum trigger (a table's dead rows over the count that starts autovacuum). */
    TRIGGER_MULTIPLE("times its autovacuum trigger", "printf \"%.1f times its autovacuum trigger\"");

    private final String label;
    private final String template;

    Unit(String label, String template) {
        this.label = label;
        this.template = template;
    }

    /** How docs name the unit. */
    public String label() {
        return label;
    }

    /** The Prometheus template pipeline stage that renders a value in this unit. */
    public String template() {
        return template;
    }

    /** A value as docs print it: "0.80", "100 ms", "10 MiB", "3×", "12.5/s", "7 days", "50 million". */
    public String format(double value) {
        return switch (this) {
            case RATIO -> String.format(Locale.ROOT, "%.2f", value);
            case SECONDS -> value % 86400 == 0 && value >= 86400 ? (long) (value / 86400) + " days"
                    : value < 1 ? Math.round(value * 1000) + " ms"
                    : value == Math.rint(value) ? (long) value + " s" : String.format(Locale.ROOT, "%.1f s", value);
            case BYTES -> value >= 1L << 30 && value % (1L << 30) == 0 ? (long) (value / (1L << 30)) + " GiB"
                    : value >= 1L << 20 && value % (1L << 20) == 0 ? (long) (value / (1L << 20)) + " MiB"
                    : (long) value + " bytes";
            case FACTOR, TRIGGER_MULTIPLE -> (value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value)) + "×";
            case PER_SECOND -> (value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value)) + "/s";
            case TRANSACTIONS -> value >= 1e6 && value % 1e6 == 0 ? (long) (value / 1e6) + " million"
                    : String.format(Locale.ROOT, "%,d", (long) value);
        };
    }
}
