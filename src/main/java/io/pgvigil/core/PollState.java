package io.pgvigil.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;

/**
 * Everything one poll produced. Immutable: the poll builds a new one and swaps it in; /metrics and
 * the REST API only read the current one.
 *
 * @param evaluations       each evaluated check's verdicts, by check id (suspended checks are absent)
 * @param findings          open findings, capped at {@code pgvigil.findings.max}, most severe first
 * @param open              every open finding, uncapped, in the same order
 * @param thresholds        each enabled check's thresholds, by check id then severity label
 * @param lastSuccessAt     when a poll last reached the target, null if never
 */
public record PollState(Snapshot snapshot, Window window, List<CollectorStatus> collectors,
        Map<String, List<Evaluation>> evaluations, List<Finding> findings, List<Finding> open,
        Map<String, Map<String, Double>> thresholds, double durationSeconds, String error, Instant lastSuccessAt,
        long polls, long failedPolls) {

    public PollState {
        collectors = List.copyOf(collectors);
        evaluations = Map.copyOf(evaluations);
        findings = List.copyOf(findings);
        open = List.copyOf(open);
        thresholds = Map.copyOf(thresholds);
    }

    /** Before the first poll has finished. */
    public static final PollState INITIAL = new PollState(null, Window.EMPTY, List.of(), Map.of(), List.of(), List.of(),
            Map.of(), 0, null, null, 0, 0);

    /** Open findings left out of {@link #findings()} by {@code pgvigil.findings.max}. */
    public int suppressed() {
        return open.size() - findings.size();
    }

    public boolean up() {
        return snapshot != null && snapshot.up();
    }
}
