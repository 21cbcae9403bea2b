package io.pgvigil.check;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.pgvigil.collect.Snapshot;
import io.pgvigil.window.Window;

/**
 * One kind of breach. A check judges the latest snapshot and window and never touches the database;
 * a few keep bounded history between polls (baselines, streaks), see docs/architecture.md. Checks are CDI beans configured under {@code pgvigil.checks.<id-in-kebab-case>}.
 */
public interface Check {

    /** The check id in snake_case: its {@code check} label and its name in findings. */
    String id();

    boolean enabled();

    /** Thresholds by severity, as exported in {@code pgvigil_check_threshold}. */
    Map<Severity, Double> thresholds();

    /**
     * Verdicts for every subject the check can judge now. Empty when its inputs are missing (a
     * collector that failed or is off): the check is then not evaluated and its findings are withdrawn.
     * A subject with an open finding that is absent from the list is cleared.
     */
    Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window);
}
