package io.pgvigil.check;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.pgvigil.collect.StatStatementsCollector.Statement;
import io.pgvigil.collect.StatStatementsCollector.Statements;

/**
 * For per-statement checks: a statement that breached and did not run in the following interval
 * has no new measurement, so its finding is held, for as long as pg_stat_statements keeps the
 * entry. It clears when the statement runs within threshold or its entry is gone.
 */
final class StatementHolds {

    private StatementHolds() {
    }

    /**
     * Adds holds to {@code evaluations} for flagged statements that did not run, then records which
     * statements are flagged now. Returns {@code evaluations}.
     */
    static List<Evaluation> apply(Set<Long> flagged, List<Evaluation> evaluations, Set<Long> ran, Statements present) {
        Set<Long> stillThere = new HashSet<>();
        for (Statement s : present.entries()) {
            if (flagged.contains(s.queryid())) {
                stillThere.add(s.queryid());
            }
        }
        Set<Long> next = new HashSet<>();
        for (Evaluation e : evaluations) {
            if (e.severity() != null) {
                next.add(Long.parseLong(e.subject()));
            }
        }
        for (Long id : stillThere) {
            if (!ran.contains(id)) {
                evaluations.add(Evaluation.held(Long.toString(id)));
                next.add(id);
            }
        }
        flagged.clear();
        flagged.addAll(next);
        return evaluations;
    }
}
