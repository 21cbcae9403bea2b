package io.pgvigil.check;

import java.time.Duration;
import java.util.Map;

/**
 * What every check has: its id, whether it is enabled, and its warning and critical thresholds.
 * Checks are {@code @Singleton} beans: they need no client proxy (which would want a no-args
 * constructor here).
 */
abstract class ThresholdCheck implements Check {

    private final String id;
    private final boolean enabled;
    private final double warning;
    private final double critical;

    ThresholdCheck(String id, boolean enabled, double warning, double critical) {
        this.id = id;
        this.enabled = enabled;
        this.warning = warning;
        this.critical = critical;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public boolean enabled() {
        return enabled;
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of(Severity.WARNING, warning, Severity.CRITICAL, critical);
    }

    protected double warning() {
        return warning;
    }

    protected double critical() {
        return critical;
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}
