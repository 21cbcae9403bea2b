package io.pgvigil.databases;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.Window.DatabaseDelta;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code rollback_rate}: rollbacks / (commits + rollbacks) of each database in the interval, judged
 * only with at least {@code min-transactions} transactions. Subject: the database.
 */
@Singleton
public class RollbackRateCheck extends ThresholdCheck {

    public static final String ID = "rollback_rate";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.DATABASE,
            "rollbacks / transactions in the interval (≥ min-transactions)",
            "Many transactions rolled back in database {{ $labels.subject }}", RollbackRateCheck::new);

    private final PgvigilConfig.RollbackRate config;

    public RollbackRateCheck(PgvigilConfig config) {
        super(SPEC, config.checks().rollbackRate(), config.checks().rollbackRate().warning(),
                config.checks().rollbackRate().critical());
        this.config = config.checks().rollbackRate();
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        if (snapshot.get(DatabaseStats.class).isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        window.held().forEach(db -> evaluations.add(Evaluation.held(db)));
        for (DatabaseDelta d : window.databases().values()) {
            if (d.transactions() < config.minTransactions()) {
                continue;
            }
            double ratio = (double) d.xactRollback() / d.transactions();
            String message = String.format(java.util.Locale.ROOT,
                    "%d of %d transactions (%.0f%%) rolled back in database %s in the last %.0f s (deadlocks: %d)",
                    d.xactRollback(), d.transactions(), ratio * 100, d.datname(), window.seconds(), d.deadlocks());
            evaluations.add(Evaluation.above(d.datname(), ratio, config.warning(), config.critical(), message));
        }
        return Optional.of(evaluations);
    }
}
