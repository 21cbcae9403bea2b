package io.pgvigil.relations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.relations.RelationWindow;
import io.pgvigil.relations.RelationWindow.TableDelta;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;

/**
 * {@code seq_scan_heavy}: a table of at least {@code min-rows} live rows or {@code min-size} whose
 * scans between the last two visits were mostly sequential — at least {@code min-scans} of them,
 * reading at least {@code min-rows-per-scan} rows each on average. The value is the sequential share
 * of the table's scans; warning only. Tables below the threshold are reported too (their finding, if
 * one is open, clears by the clearing rule). Subject: {@code database.schema.table}.
 */
@Singleton
public class SeqScanHeavyCheck extends RelationCheck {

    public static final String ID = "seq_scan_heavy";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.TABLE,
            "share of a large table's scans between two visits that were sequential, reading many rows each",
            "Table {{ $labels.subject }} is read by sequential scans (missing index?)", SeqScanHeavyCheck::new).only(Severity.WARNING).alertAfter(Duration.ofMinutes(5));

    private final PgvigilConfig.SeqScanHeavy config;

    public SeqScanHeavyCheck(PgvigilConfig config) {
        super(SPEC, config.checks().seqScanHeavy(), config.checks().seqScanHeavy().warning(), 1);
        this.config = config.checks().seqScanHeavy();
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of(Severity.WARNING, warning());
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        RelationWindow w = db.window();
        if (w == null) {
            return List.of();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        for (Table table : db.current().tables()) {
            TableDelta d = w.tables().get(table.relid());
            if (d == null || !large(table) || d.seqScans() < config.minScans()
                    || d.rowsPerSeqScan() < config.minRowsPerScan()) {
                continue;
            }
            String name = qualified(table.schema(), table.name());
            String message = String.format(java.util.Locale.ROOT,
                    "table %s in database %s (%d live rows, %s) was read by %d sequential scans of %.0f rows each on"
                            + " average, %.0f%% of its %d scans in the last %.0f s: a query filters on a column no index"
                            + " serves (or wraps an indexed column in a function). Find it in /api/v1/statements,"
                            + " confirm with EXPLAIN (ANALYZE, BUFFERS) that it shows Seq Scan on %s, and add an index"
                            + " on its filter columns (composite or partial if the filter is)",
                    name, db.datname(), table.liveRows(), size(table.sizeBytes()), d.seqScans(), d.rowsPerSeqScan(),
                    d.seqShare() * 100, d.seqScans() + d.idxScans(), w.seconds(), table.name());
            // Below the threshold too: an open finding clears only with the clearing margin (hysteresis).
            evaluations.add(Evaluation.measured(subject(db, table), d.seqShare(),
                    d.seqShare() >= warning() ? Severity.WARNING : null, warning(), message));
        }
        return evaluations;
    }

    private boolean large(Table table) {
        return table.liveRows() >= config.minRows() || table.sizeBytes() >= config.minSize().asLongValue();
    }
}
