package io.pgvigil.metrics;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.Catalog;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.HeldRest;
import io.pgvigil.core.PollState;

/**
 * The breach contract: open findings, the values the checks measured, their thresholds.
 *
 * <pre>
 * pgvigil_breach{check="rollback_rate",severity="critical",subject="shop"} 1.0
 * pgvigil_check_value{check="rollback_rate",subject="shop"} 0.31
 * pgvigil_check_threshold{check="rollback_rate",severity="critical"} 0.25
 * </pre>
 */
@Singleton
public class FindingMetrics implements MetricsGroup {

    public static final String SECTION = "findings";
    public static final MetricFamily BREACH = MetricFamily.gauge(SECTION, "pgvigil_breach",
            "1 while a finding is open; the series disappears when it clears. Only the current severity of a finding has a series.",
            "check", "severity", "subject");
    public static final MetricFamily CHECK_VALUE = MetricFamily.gauge(SECTION, "pgvigil_check_value",
            "The value a check measured for a subject in the last poll, whether or not it breaches; for the statement checks (`slow_query`, `n_plus_one`, `query_regression`, `temp_spill`) and the index and table checks (`unused_index`, `duplicate_index`, `invalid_index`, `seq_scan_heavy`, `vacuum_lag`) only subjects with an open finding have one, so that there is no series per statement, index or table.",
            "check", "subject");
    public static final MetricFamily CHECK_THRESHOLD = MetricFamily.gauge(SECTION, "pgvigil_check_threshold",
            "Each enabled check's thresholds: as configured, or read from the server (`xmin_horizon`'s critical is by default the server's `autovacuum_freeze_max_age`, known from the first poll on).",
            "check", "severity");
    public static final MetricFamily FINDINGS_SUPPRESSED = MetricFamily.gauge(SECTION, "pgvigil_findings_suppressed",
            "Open findings left out of `/api/v1/findings` and `pgvigil_breach` by `pgvigil.findings.max`.");

    @Override
    public List<MetricFamily> families() {
        return List.of(BREACH, CHECK_VALUE, CHECK_THRESHOLD, FINDINGS_SUPPRESSED);
    }

    @Override
    public void publish(PollState state, Series out) {
        Map<Tags, Double> breach = new HashMap<>();
        for (Finding f : state.findings()) {
            breach.put(Tags.of("check", f.check(), "severity", f.severity().label(), "subject", f.subject()), 1.0);
        }
        // Every judged subject of a check with few subjects; only subjects with an open finding of a
        // check on statements, indexes or tables (bounded series).
        Set<String> open = new HashSet<>();
        state.open().forEach(f -> open.add(f.check() + "\n" + f.subject()));
        Map<Tags, Double> values = new HashMap<>();
        state.evaluations().forEach((check, evaluations) -> {
            boolean every = Catalog.check(check).map(spec -> spec.subject().bounded()).orElse(false);
            // A held rest has no values: not listing it spares building a verdict per idle statement.
            for (Evaluation e : evaluations instanceof HeldRest rest ? rest.measured() : evaluations) {
                if (e.value() != null && (every || open.contains(check + "\n" + e.subject()))) {
                    values.put(Tags.of("check", check, "subject", e.subject()), e.value());
                }
            }
        });
        Map<Tags, Double> thresholds = new HashMap<>();
        state.thresholds().forEach((check, bySeverity) -> bySeverity.forEach((severity, value) ->
                thresholds.put(Tags.of("check", check, "severity", severity), value)));
        out.set(BREACH, breach);
        out.set(CHECK_VALUE, values);
        out.set(CHECK_THRESHOLD, thresholds);
        out.set(FINDINGS_SUPPRESSED, (double) state.suppressed());
    }
}
