package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.SqlText;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code slow_query}: a statement's mean execution time over its calls in the interval. Subject:
 * the queryid. Only data statements (SELECT, INSERT, UPDATE, DELETE, ...): a CREATE INDEX or a
 * VACUUM that takes a while is maintenance, not a slow query. A flagged statement that did not run in the next interval keeps its finding (held)
 * while pg_stat_statements still has it: no new measurement is not a fast one.
 */
@Singleton
public class SlowQueryCheck extends ThresholdCheck {

    public static final String ID = "slow_query";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.STATEMENT,
            "mean execution time over the statement's calls in the interval",
            "Statement {{ $labels.subject }} is slow", SlowQueryCheck::new).heldAtMost(StatementChecks.MAX_HELD_INTERVALS);

    private final PgvigilConfig.SlowQuery config;

    public SlowQueryCheck(PgvigilConfig config) {
        super(SPEC, config.checks().slowQuery(), seconds(config.checks().slowQuery().warning()),
                seconds(config.checks().slowQuery().critical()));
        this.config = config.checks().slowQuery();
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        Map<Long, QueryTotals> totals = QueryTotals.byQueryid(window);
        for (QueryTotals t : totals.values()) {
            if (t.calls() < config.minCalls() || !SqlText.isDataStatement(t.text())) {
                continue;
            }
            String message = String.format(java.util.Locale.ROOT,
                    "mean %.0f ms over %d call(s) in the last %.0f s in database %s: %s",
                    t.meanSeconds() * 1000, t.calls(), window.seconds(), t.databases(), t.shortText());
            evaluations.add(Evaluation.above(Long.toString(t.queryid()), t.meanSeconds(), seconds(config.warning()),
                    seconds(config.critical()), message));
        }
        return Optional.of(StatementChecks.holdIdle(evaluations, totals.keySet(), statements.get()));
    }

}
