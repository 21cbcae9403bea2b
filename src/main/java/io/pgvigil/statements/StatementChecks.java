package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.HeldRest;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;

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

    /**
     * {@code evaluations} followed by a held verdict for every statement pg_stat_statements still has
     * that did not run. The held verdicts are listed lazily ({@link HeldRest}): a poll judges thousands
     * of idle statements, of which only those with an open finding need one.
     */
    static List<Evaluation> holdIdle(List<Evaluation> evaluations, Set<Long> ran, Statements present) {
        return new IdleStatements(evaluations, ran, present);
    }

    private static final class IdleStatements extends HeldRest {

        private final Set<Long> ran;
        private final Statements present;
        private Set<Long> presentIds;

        IdleStatements(List<Evaluation> evaluations, Set<Long> ran, Statements present) {
            super(evaluations);
            this.ran = ran;
            this.present = present;
        }

        @Override
        public synchronized boolean holds(String subject) {
            long queryid;
            try {
                queryid = Long.parseLong(subject);
            } catch (NumberFormatException e) {
                return false;
            }
            if (ran.contains(queryid)) {
                return false;
            }
            if (presentIds == null) {
                presentIds = new HashSet<>();
                present.entries().forEach(s -> presentIds.add(s.queryid()));
            }
            return presentIds.contains(queryid);
        }

        @Override
        protected List<String> heldSubjects() {
            Set<Long> held = new HashSet<>();
            List<String> subjects = new ArrayList<>();
            for (Statement s : present.entries()) {
                if (!ran.contains(s.queryid()) && held.add(s.queryid())) {
                    subjects.add(Long.toString(s.queryid()));
                }
            }
            return subjects;
        }
    }
}
