package io.pgvigil.relations;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;

/**
 * {@code unused_index}: a valid index not scanned for at least {@code window} — counted from its last
 * scan where PostgreSQL 16+ records it ({@code last_idx_scan}), else from when pgvigil first saw it or
 * last saw its counters reset or move. Never an index that enforces something: unique, primary key,
 * exclusion, or one a constraint depends on. Severity info; the value is the seconds since its last
 * scan, the threshold the window. Subject: {@code database.schema.index}.
 */
@Singleton
public class UnusedIndexCheck extends RelationCheck {

    public static final String ID = "unused_index";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.INDEX,
            "time since the index was last scanned (never unique, primary key, exclusion or constraint indexes)",
            "Index {{ $labels.subject }} is never used", UnusedIndexCheck::new).only(Severity.INFO).alertAfter(Duration.ofMinutes(30));

    private final Duration window;

    public UnusedIndexCheck(PgvigilConfig config) {
        super(SPEC, config.checks().unusedIndex(), seconds(config.checks().unusedIndex().window()), 0);
        this.window = config.checks().unusedIndex().window();
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of(Severity.INFO, warning());
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        Map<Long, Table> tables = new HashMap<>();
        db.current().tables().forEach(t -> tables.put(t.relid(), t));
        Map<Long, Integer> indexesPerTable = new HashMap<>();
        db.current().indexes().forEach(i -> indexesPerTable.merge(i.relid(), 1, Integer::sum));
        List<Evaluation> evaluations = new ArrayList<>();
        for (Index index : db.current().indexes()) {
            if (index.enforces() || !index.valid()) {
                continue;
            }
            Instant since = db.idleSince(index);
            Duration idle = Duration.between(since, db.at());
            if (idle.compareTo(window) < 0) {
                continue;
            }
            Table table = tables.get(index.relid());
            String writes = table == null ? "" : String.format(java.util.Locale.ROOT,
                    "; each of the %d row writes (inserts, deletes, non-HOT updates) %s has had since its statistics"
                            + " began also wrote to it, one of its %d indexes",
                    table.writes(), qualified(table.schema(), table.name()), indexesPerTable.get(index.relid()));
            String message = String.format(java.util.Locale.ROOT,
                    "index %s on %s in database %s has not been scanned for %s (%s); it takes %s%s. If no rare job"
                            + " (month-end report, standby queries: statistics are per server) needs it, drop it with"
                            + " DROP INDEX CONCURRENTLY %s",
                    index.name(), qualified(index.schema(), index.table()), db.datname(), human(idle),
                    index.lastScanSeconds() != null ? "last scan " + since
                            : "no scan since pgvigil began watching it or its counters were reset, " + since,
                    size(index.sizeBytes()), writes, qualified(index.schema(), index.name()));
            evaluations.add(Evaluation.measured(subject(db, index), idle.toMillis() / 1000.0, Severity.INFO,
                    warning(), message));
        }
        return evaluations;
    }

    static String human(Duration d) {
        if (d.toDays() >= 2) {
            return d.toDays() + " days";
        }
        if (d.toHours() >= 2) {
            return d.toHours() + " hours";
        }
        return d.toSeconds() + " s";
    }
}
