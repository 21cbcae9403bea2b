package io.pgvigil.statements;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.core.Evaluation;

/**
 * What the per-statement checks share: a statement that did not run in the interval has no new
 * measurement, so it is reported as held while pg_stat_statements keeps its entry, and an open
 * finding on it stays as it was, for at most {@value #MAX_HELD_INTERVALS} intervals (a one-off slow
 * migration does not stay open for ever). A statement whose entry is gone is not reported: its
 * finding clears.
 */
final class StatementChecks {

    static final int MAX_HELD_INTERVALS = 20;

    private StatementChecks() {
    }

    /** Adds a held verdict for every statement pg_stat_statements still has that did not run. */
    static List<Evaluation> holdIdle(List<Evaluation> evaluations, Set<Long> ran, Statements present) {
        Set<Long> held = new HashSet<>();
        for (Statement s : present.entries()) {
            if (!ran.contains(s.queryid()) && held.add(s.queryid())) {
                evaluations.add(Evaluation.held(Long.toString(s.queryid())));
            }
        }
        return evaluations;
    }
}
