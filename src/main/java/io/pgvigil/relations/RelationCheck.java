package io.pgvigil.relations;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.core.Snapshot;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.ThresholdCheck;

/**
 * A check on the index and table statistics of the visited databases. It judges each database's
 * latest visit; a database whose latest visit failed keeps its findings as they were (held) until a
 * visit succeeds again. Per-index and per-table checks return only the subjects that breach, so
 * that no index or table gets a series of its own unless something is wrong with it.
 */
abstract class RelationCheck extends ThresholdCheck {

    RelationCheck(CheckSpec spec, io.pgvigil.config.PgvigilConfig.CheckConfig config, double warning, double critical) {
        super(spec, config, warning, critical);
    }

    static String subject(DatabaseState db, Index index) {
        return RelationSubjects.of(db.datname(), index.schema(), index.name());
    }

    static String subject(DatabaseState db, Table table) {
        return RelationSubjects.of(db.datname(), table.schema(), table.name());
    }

    /** A relation name as SQL would need it quoted. */
    static String qualified(String schema, String name) {
        return RelationSubjects.qualified(schema, name);
    }

    @Override
    public final Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Relations> relations = snapshot.get(Relations.class);
        if (relations.isEmpty()) {
            return Optional.empty();
        }
        begin(snapshot);
        List<Evaluation> evaluations = new ArrayList<>();
        for (DatabaseState db : relations.get().databases().values()) {
            List<Evaluation> judged = judge(db);
            if (db.fresh()) {
                evaluations.addAll(judged);
            } else {
                judged.forEach(e -> evaluations.add(Evaluation.held(e.subject())));
            }
        }
        return Optional.of(evaluations);
    }

    /** Called once per poll before the databases are judged, for what a check needs from the server. */
    void begin(Snapshot snapshot) {
    }

    /** Verdicts on one database's latest visit. */
    abstract List<Evaluation> judge(DatabaseState db);

    /** Bytes for people: "48 kB", "12.5 MiB", "3.2 GiB". */
    static String size(long bytes) {
        if (bytes < 1048576) {
            return Math.round(bytes / 1024.0) + " kB";
        }
        if (bytes < 1073741824L) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / 1073741824.0);
    }
}
