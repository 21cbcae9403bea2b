package io.pgvigil.core;

import java.time.Duration;
import java.util.Map;

import io.pgvigil.config.PgvigilConfig;

/**
 * What every check has: its spec, whether it is enabled, its clearing rule, and its warning and
 * critical thresholds. Checks are {@code @Singleton} beans: they need no client proxy (which would
 * want a no-args constructor here).
 */
public abstract class ThresholdCheck implements Check {

    private final CheckSpec spec;
    private final boolean enabled;
    private final Clearing clearing;
    private final double warning;
    private final double critical;

    protected ThresholdCheck(CheckSpec spec, PgvigilConfig.CheckConfig config, double warning, double critical) {
        this.spec = spec;
        this.enabled = config.enabled();
        this.clearing = new Clearing(config.clearMargin(), config.clearAfter());
        this.warning = warning;
        this.critical = critical;
    }

    @Override
    public CheckSpec spec() {
        return spec;
    }

    @Override
    public boolean enabled() {
        return enabled;
    }

    @Override
    public Clearing clearing() {
        return clearing;
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

    protected static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}
