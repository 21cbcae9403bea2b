package io.pgvigil.core;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;

/**
 * One kind of breach. A check judges the latest snapshot and window and never touches the database;
 * a few keep bounded history between polls (baselines, streaks), see docs/architecture.md. Checks are
 * CDI beans configured under {@code pgvigil.checks.<id-in-kebab-case>}, each declared once by its
 * {@link CheckSpec} and listed in {@link Catalog}.
 */
public interface Check {

    /** What the check declares about itself: id, unit, subject, severities, alert timing. */
    CheckSpec spec();

    /** The check id in snake_case: its {@code check} label and its name in findings. */
    default String id() {
        return spec().id();
    }

    boolean enabled();

    /** Thresholds by severity, in the check's one unit, as exported in {@code pgvigil_check_threshold}. */
    Map<Severity, Double> thresholds();

    /**
     * The server setting a threshold of {@code severity} comes from when it is not configured (its
     * value is then known only after a poll, so {@link #thresholds()} lacks it before), or null. Docs
     * and the alert tests name it instead of a default.
     */
    default String serverThreshold(Severity severity) {
        return null;
    }

    /**
     * Whether the check judges PostgreSQL, and so is not evaluated in a poll that could not reach it. A
     * check on another part (a PgBouncer in front) returns false and is evaluated in every poll.
     */
    default boolean needsTarget() {
        return true;
    }

    /**
     * Whether a value back inside the threshold by the clearing margin clears the finding at once. True
     * for values that move continuously; false for a value sampled at the poll's instant that says
     * nothing of the time between polls ({@code pooler_saturation}'s queue): it clears only after
     * {@code clear-after} consecutive clean intervals.
     */
    default boolean clearsByMargin() {
        return true;
    }

    /** When an open finding may clear or step down (see {@code PgvigilConfig.CheckConfig}). */
    Clearing clearing();

    /**
     * Verdicts for every subject the check can judge now. Empty when its inputs are missing (a
     * collector that failed or is off): the check is then not evaluated and its findings are withdrawn.
     * A subject with an open finding that is absent from the list is cleared.
     */
    Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window);

    /**
     * @param margin share of the threshold a value must be back inside by to clear at once
     * @param after  consecutive intervals back inside the threshold that clear it anyway
     */
    record Clearing(double margin, int after) {
    }
}
