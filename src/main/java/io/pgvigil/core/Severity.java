package io.pgvigil.core;

import com.fasterxml.jackson.annotation.JsonValue;

/** How bad a finding is; the lower-case name is the {@code severity} label. */
public enum Severity {
    INFO, WARNING, CRITICAL;

    @JsonValue
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The severity of {@code value} against thresholds where higher is worse; null below both. */
    public static Severity above(double value, double warning, double critical) {
        if (value >= critical) {
            return CRITICAL;
        }
        return value >= warning ? WARNING : null;
    }

    /** The severity of {@code value} against thresholds where lower is worse; null above both. */
    public static Severity below(double value, double warning, double critical) {
        if (value < critical) {
            return CRITICAL;
        }
        return value < warning ? WARNING : null;
    }
}
