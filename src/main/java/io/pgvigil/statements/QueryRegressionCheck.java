package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.SqlText;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code query_regression}: a statement's interval mean against its own baseline, an exponentially
 * weighted mean (weight {@value #ALPHA} for the newest) of its earlier interval means. Only
 * intervals with at least {@code min-calls} calls count, a statement is judged once its baseline
 * has {@code baseline-windows} of them, and only when its interval mean is at least
 * {@code min-mean} (a 0.1 ms statement that takes 0.5 ms is noise, not a regression).
 *
 * <p>A regressed interval is not folded into the baseline: otherwise a statement that stays slow
 * would teach the baseline its new speed and clear itself. The baseline lives in memory; it starts
 * again after a pgvigil restart or a pg_stat_statements reset of the statement. Subject: the queryid.
 */
@Singleton
public class QueryRegressionCheck extends ThresholdCheck {

    public static final String ID = "query_regression";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.FACTOR, SubjectKind.STATEMENT,
            "interval mean / the statement's own baseline",
            "Statement {{ $labels.subject }} is much slower than its baseline", QueryRegressionCheck::new).heldAtMost(StatementChecks.MAX_HELD_INTERVALS);
    static final double ALPHA = 0.3;

    private record Baseline(double meanSeconds, int windows) {
    }

    private final PgvigilConfig.QueryRegression config;
    private final Map<Long, Baseline> baselines = new HashMap<>();

    public QueryRegressionCheck(PgvigilConfig config) {
        super(SPEC, config.checks().queryRegression(), config.checks().queryRegression().warning(),
                config.checks().queryRegression().critical());
        this.config = config.checks().queryRegression();
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return Optional.empty();
        }
        double minMean = seconds(config.minMean());
        io.pgvigil.plans.Plans plans = snapshot.get(io.pgvigil.plans.Plans.class).orElse(io.pgvigil.plans.Plans.OFF);
        List<Evaluation> evaluations = new ArrayList<>();
        Map<Long, QueryTotals> totals = QueryTotals.byQueryid(window);
        for (QueryTotals t : totals.values()) {
            if (t.calls() < config.minCalls() || !SqlText.isDataStatement(t.text())) {
                continue;
            }
            double mean = t.meanSeconds();
            Baseline b = baselines.get(t.queryid());
            boolean judged = b != null && b.windows() >= config.baselineWindows() && mean >= minMean && b.meanSeconds() > 0;
            double ratio = judged ? mean / b.meanSeconds() : 0;
            if (judged) {
                String message = String.format(java.util.Locale.ROOT,
                        "mean %.1f ms over %d call(s) in the last %.0f s is %.1f× its baseline of %.2f ms"
                                + " (from %d earlier intervals) in database %s: %s",
                        mean * 1000, t.calls(), window.seconds(), ratio, b.meanSeconds() * 1000, b.windows(),
                        t.databases(), t.shortText());
                evaluations.add(Evaluation.above(Long.toString(t.queryid()), ratio, config.warning(), config.critical(),
                        message + planChange(plans, t.queryid(), snapshot.at())));
            }
            if (!judged || ratio < config.warning()) {
                baselines.put(t.queryid(), b == null ? new Baseline(mean, 1)
                        : new Baseline(ALPHA * mean + (1 - ALPHA) * b.meanSeconds(), b.windows() + 1));
            }
        }
        forgetGone(statements.get());
        return Optional.of(StatementChecks.holdIdle(evaluations, totals.keySet(), statements.get()));
    }

    /**
     * ". Its generic plan ... changed (seen ...): Index Scan using ... → Seq Scan on ..." when a plan of it
     * changed shape within the last hour.
     */
    /** A plan change older than this is not offered as the regression's explanation. */
    static final java.time.Duration PLAN_CHANGE_RECENT = java.time.Duration.ofHours(1);

    static String planChange(io.pgvigil.plans.Plans plans, long queryid, java.time.Instant now) {
        java.time.Instant recent = now.minus(PLAN_CHANGE_RECENT);
        return plans.plans().stream().filter(p -> p.queryid() == queryid && p.previousShape() != null
                && p.changedAt().isAfter(recent))
                .max(java.util.Comparator.comparing(io.pgvigil.plans.Plan::changedAt))
                .map(p -> ". Its generic plan in database " + p.datname() + " changed (seen "
                        + p.changedAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + "): " + p.previousShape()
                        + " → " + p.shape())
                .orElse("");
    }

    /** Baselines of statements that pg_stat_statements no longer has are dropped: memory stays bounded. */
    private void forgetGone(Statements statements) {
        Set<Long> present = new HashSet<>();
        for (Statement s : statements.entries()) {
            present.add(s.queryid());
        }
        baselines.keySet().retainAll(present);
    }
}
