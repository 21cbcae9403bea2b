package io.pgvigil.relations;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Singleton;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.relations.RelationWindow;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;

/**
 * {@code index_hit_rate}: the share of a database's index block accesses that shared buffers
 * answered between its last two visits (idx_blks_hit / (idx_blks_hit + idx_blks_read) over every
 * user index), judged only with at least {@code min-block-accesses}. Lower is worse. Subject: the
 * database.
 */
@Singleton
public class IndexHitRateCheck extends RelationCheck {

    public static final String ID = "index_hit_rate";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.DATABASE,
            "index blocks found in shared buffers / index block accesses between two visits (≥ min-block-accesses)",
            "Index reads in database {{ $labels.subject }} miss shared buffers", IndexHitRateCheck::new).whereLowerIsWorse().alertAfter(Duration.ofMinutes(5));

    private final long minAccesses;

    public IndexHitRateCheck(PgvigilConfig config) {
        super(SPEC, config.checks().indexHitRate(), config.checks().indexHitRate().warning(),
                config.checks().indexHitRate().critical());
        this.minAccesses = config.checks().indexHitRate().minBlockAccesses();
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        RelationWindow w = db.window();
        if (w == null) {
            return List.of(Evaluation.held(db.datname()));
        }
        if (w.idxBlockAccesses() < minAccesses) {
            return List.of();
        }
        double ratio = (double) w.idxBlksHit() / w.idxBlockAccesses();
        Severity severity = Severity.below(ratio, warning(), critical());
        String message = String.format(java.util.Locale.ROOT,
                "%.2f%% of index block accesses in database %s were found in shared buffers over the last %.0f s"
                        + " (%d read from outside of %d); the indexes being used do not fit in shared_buffers",
                ratio * 100, db.datname(), w.seconds(), w.idxBlksRead(), w.idxBlockAccesses());
        return List.of(Evaluation.measured(db.datname(), ratio, severity,
                severity == Severity.CRITICAL ? critical() : warning(), message));
    }
}
