package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code temp_spill}: bytes of temporary files a statement wrote in the interval
 * ({@code temp_blks_written × block_size}): sorts and hashes that did not fit in {@code work_mem}.
 * Subject: the queryid.
 */
@Singleton
public class TempSpillCheck extends ThresholdCheck {

    public static final String ID = "temp_spill";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.BYTES, SubjectKind.STATEMENT,
            "temporary-file bytes written in the interval",
            "Statement {{ $labels.subject }} spills to temporary files", TempSpillCheck::new).heldAtMost(StatementChecks.MAX_HELD_INTERVALS);

    private final PgvigilConfig.TempSpill config;

    public TempSpillCheck(PgvigilConfig config) {
        super(SPEC, config.checks().tempSpill(), config.checks().tempSpill().warning().asLongValue(),
                config.checks().tempSpill().critical().asLongValue());
        this.config = config.checks().tempSpill();
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return Optional.empty();
        }
        int blockSize = statements.get().blockSize();
        List<Evaluation> evaluations = new ArrayList<>();
        Map<Long, QueryTotals> totals = QueryTotals.byQueryid(window);
        for (QueryTotals t : totals.values()) {
            if (t.tempBlksWritten() == 0) {
                continue;
            }
            double bytes = (double) t.tempBlksWritten() * blockSize;
            String message = String.format(java.util.Locale.ROOT,
                    "wrote %.1f MiB of temporary files over %d call(s) in the last %.0f s in database %s"
                            + " (sorts or hashes larger than work_mem): %s",
                    bytes / 1048576, t.calls(), window.seconds(), t.databases(), t.shortText());
            evaluations.add(Evaluation.above(Long.toString(t.queryid()), bytes, config.warning().asLongValue(),
                    config.critical().asLongValue(), message));
        }
        return Optional.of(StatementChecks.holdIdle(evaluations, totals.keySet(), statements.get()));
    }
}
