package io.pgvigil.core;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import io.pgvigil.config.PgvigilConfig;

/**
 * A check as it declares itself, once, in its own class ({@code SPEC}). The alert rules (and their
 * Kubernetes copies), their standard promtool cases, the check tables of docs/checks.md and the README
 * and the findings engine's clearing rules all derive from it; the default thresholds come from the
 * check's config mapping ({@code PgvigilConfig.Checks}), read through an instance built with defaults.
 *
 * @param id          snake_case: the {@code check} label; kebab-case under {@code pgvigil.checks.}
 * @param measures    what the value is, for docs/checks.md
 * @param summary     the alert summary, may use {@code {{ $labels.subject }}}
 * @param unit        the one unit of the value and every threshold
 * @param subject     what the findings are about
 * @param severities  the severities it can report, least severe first
 * @param lowerIsWorse true when a value below the threshold breaches (a hit rate)
 * @param alertFor    how long a breach must last before its alert fires
 * @param maxHeld     most consecutive intervals a finding is held without a measurement (0: no limit)
 * @param factory     builds the check from configuration (tests build the whole catalog this way)
 */
public record CheckSpec(String id, String measures, String summary, Unit unit, SubjectKind subject,
        List<Severity> severities, boolean lowerIsWorse, Duration alertFor, int maxHeld,
        Function<PgvigilConfig, Check> factory) {

    public CheckSpec {
        severities = List.copyOf(severities);
        if (!id.matches("[a-z][a-z0-9_]*")) {
            throw new IllegalArgumentException("check id must be snake_case: " + id);
        }
    }

    /** A check with warning and critical thresholds where higher is worse, alerting after a minute. */
    public static CheckSpec of(String id, Unit unit, SubjectKind subject, String measures, String summary,
            Function<PgvigilConfig, Check> factory) {
        return new CheckSpec(id, measures, summary, unit, subject, List.of(Severity.WARNING, Severity.CRITICAL), false,
                Duration.ofMinutes(1), 0, factory);
    }

    public CheckSpec whereLowerIsWorse() {
        return new CheckSpec(id, measures, summary, unit, subject, severities, true, alertFor, maxHeld, factory);
    }

    public CheckSpec only(Severity severity) {
        return new CheckSpec(id, measures, summary, unit, subject, List.of(severity), lowerIsWorse, alertFor, maxHeld,
                factory);
    }

    public CheckSpec alertAfter(Duration duration) {
        return new CheckSpec(id, measures, summary, unit, subject, severities, lowerIsWorse, duration, maxHeld, factory);
    }

    public CheckSpec heldAtMost(int intervals) {
        return new CheckSpec(id, measures, summary, unit, subject, severities, lowerIsWorse, alertFor, intervals,
                factory);
    }

    /** The config key segment: {@code pool-saturation}. */
    public String configKey() {
        return id.replace('_', '-');
    }

    /** {@code PoolSaturation}, for alert names. */
    public String camelName() {
        StringBuilder sb = new StringBuilder();
        for (String part : id.split("_")) {
            sb.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
        }
        return sb.toString();
    }

    /** The alert for one severity: {@code PgvigilPoolSaturationWarning}. */
    public String alertName(Severity severity) {
        String label = severity.label();
        return "Pgvigil" + camelName() + Character.toUpperCase(label.charAt(0)) + label.substring(1).toLowerCase(Locale.ROOT);
    }
}
