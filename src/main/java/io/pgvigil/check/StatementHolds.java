package io.pgvigil.check;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pgvigil.collect.StatStatementsCollector.Statement;
import io.pgvigil.collect.StatStatementsCollector.Statements;

/**
 * For per-statement checks: a statement that breached and did not run in the following interval
 * has no new measurement, so its finding is held, for at most {@value #MAX_HELD_WINDOWS} intervals
 * and only while pg_stat_statements keeps the entry. It clears when the statement runs within
 * threshold, when its entry is gone, or when it has not run for that many intervals (a one-off
 * slow migration does not stay open for ever). One instance per check; not thread-safe.
 */
final class StatementHolds {

    static final int MAX_HELD_WINDOWS = 20;

    /** Flagged statements → consecutive intervals held without running (0 when it breached now). */
    private final Map<Long, Integer> flagged = new HashMap<>();

    /**
     * Adds holds to {@code evaluations}, remembers what is flagged now, and returns only the breaches
     * and holds: a statement within threshold is simply absent (which clears it), so that
     * {@code pgvigil_check_value} has a series per flagged statement, not one per statement.
     */
    List<Evaluation> apply(List<Evaluation> evaluations, Set<Long> ran, Statements present) {
        Set<Long> stillThere = new HashSet<>();
        for (Statement s : present.entries()) {
            if (flagged.containsKey(s.queryid())) {
                stillThere.add(s.queryid());
            }
        }
        Map<Long, Integer> next = new HashMap<>();
        for (Evaluation e : evaluations) {
            if (e.severity() != null) {
                next.put(Long.parseLong(e.subject()), 0);
            }
        }
        for (Long id : stillThere) {
            int held = flagged.get(id) + 1;
            if (!ran.contains(id) && held <= MAX_HELD_WINDOWS) {
                evaluations.add(Evaluation.held(Long.toString(id)));
                next.put(id, held);
            }
        }
        flagged.clear();
        flagged.putAll(next);
        evaluations.removeIf(e -> e.severity() == null && !e.hold());
        return evaluations;
    }
}
