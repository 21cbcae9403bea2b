package io.pgvigil.relations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.relations.RelationWindow;
import io.pgvigil.relations.RelationWindow.TableDelta;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Snapshot;
import io.pgvigil.plans.PlanAdvice;
import io.pgvigil.plans.Plans;
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
 *
 * <p>The advice is checked against the table: without planner statistics, or with many rows changed
 * since its last ANALYZE, it says to run ANALYZE first (the planner may be avoiding an index that
 * exists); with indexes, it names their leading columns; only a table without a usable index is told
 * that no index serves the filter. A size read as 0 before the first VACUUM or ANALYZE is "not yet known".
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
            List<Index> indexes = indexesOf(db, table);
            PlanAdvice planned = PlanAdvice.of(plans, db.datname(), table, indexes);
            String message = String.format(java.util.Locale.ROOT,
                    "table %s in database %s (%d live rows, %s) was read by %d sequential scans of %.0f rows each on"
                            + " average, %.0f%% of its %d scans in the last %.0f s. %s",
                    name, db.datname(), table.liveRows(), tableSize(table), d.seqScans(), d.rowsPerSeqScan(),
                    d.seqShare() * 100, d.seqScans() + d.idxScans(), w.seconds(),
                    planned.text() == null ? advice(name, table, indexes)
                            : planned.text() + (table.withoutPlannerStatistics() || table.staleStatistics()
                                    ? ". Its planner statistics are missing or stale: run ANALYZE " + name + " too" : ""));
            // Below the threshold too: an open finding clears only with the clearing margin (hysteresis).
            evaluations.add(Evaluation.measured(subject(db, table), d.seqShare(),
                    d.seqShare() >= warning() ? Severity.WARNING : null, warning(), message).withAdvice(planned.advice()));
        }
        return evaluations;
    }

    /**
     * What to do, checked against what the table has: planner statistics that are missing or stale come
     * first (the planner may avoid an index that exists), then the indexes it already has (a filter on
     * their leading column should use one), and only a table without a usable index is told to get one.
     */
    static String advice(String name, Table table, List<Index> indexes) {
        String existing = indexes.isEmpty() ? "it has no index"
                : "its indexes lead with " + indexes.stream().limit(MAX_INDEXES_NAMED).map(SeqScanHeavyCheck::leading)
                        .collect(java.util.stream.Collectors.joining(", "))
                        + (indexes.size() > MAX_INDEXES_NAMED ? " and " + (indexes.size() - MAX_INDEXES_NAMED) + " more" : "");
        String explain = "confirm with EXPLAIN (ANALYZE, BUFFERS) of the query that filters it (find it in"
                + " /api/v1/statements) that it shows Seq Scan on " + table.name();
        if (table.withoutPlannerStatistics() || table.staleStatistics()) {
            String why = table.withoutPlannerStatistics()
                    ? "it has no planner statistics yet (never analyzed)"
                    : String.format(java.util.Locale.ROOT, "%d rows changed since its last ANALYZE%s, more than the 10%% at"
                            + " which autoanalyze gathers them again by default", table.analyzed().modifiedSinceAnalyze(),
                            table.analyzed().lastSeconds() == null ? "" : " (" + java.time.Instant.ofEpochSecond(
                                    table.analyzed().lastSeconds().longValue()) + ")");
            return why + ", so the planner's estimates may be wrong and it may avoid an index that would serve ("
                    + existing + "). Run ANALYZE " + name + " first, then " + explain
                    + "; add an index only if it still does";
        }
        if (!indexes.isEmpty()) {
            return existing + ": if the query filters on one of those columns, check with EXPLAIN why the planner"
                    + " does not use the index (a function or cast on the column, a type mismatch, a filter matching"
                    + " most rows); otherwise " + explain + " and add an index on its filter columns (composite or"
                    + " partial if the filter is)";
        }
        return existing + ": a query filters on a column no index serves (or reads the whole table); " + explain
                + " and add an index on its filter columns (composite or partial if the filter is)";
    }

    private static final int MAX_INDEXES_NAMED = 5;

    /** "(user_id) in orders_user_id_idx": an index's first key column, or its expression. */
    private static String leading(Index index) {
        String first = index.keyAttnums().isEmpty() || index.columns() == null || index.columns().isEmpty() ? "?"
                : index.keyAttnums().get(0) == 0 && index.expressions() != null ? index.expressions()
                : index.columns().get(0);
        return "(" + first + ") in " + index.name() + (index.predicate() == null ? "" : " WHERE " + index.predicate());
    }

    /** The valid indexes of a table (an index being built or left invalid serves no query). */
    static List<Index> indexesOf(DatabaseState db, Table table) {
        return db.current().indexes().stream()
                .filter(i -> i.relid() == table.relid() && i.valid() && !i.beingBuilt())
                .sorted(java.util.Comparator.comparing(Index::name)).toList();
    }

    /** relpages × block size, or "size not yet known" before the first VACUUM or ANALYZE sets relpages. */
    static String tableSize(Table table) {
        return table.sizeBytes() == 0 && table.liveRows() > 0 ? "size not yet known: no VACUUM or ANALYZE yet"
                : size(table.sizeBytes());
    }

    private Plans plans = Plans.OFF;

    @Override
    void begin(Snapshot snapshot) {
        plans = snapshot.get(Plans.class).orElse(Plans.OFF);
    }

    private boolean large(Table table) {
        return table.liveRows() >= config.minRows() || table.sizeBytes() >= config.minSize().asLongValue();
    }
}
