package io.pgvigil.relations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Advice;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;

/**
 * {@code invalid_index}: an index with {@code indisvalid = false} that no CREATE INDEX or REINDEX is
 * building right now — what a failed CREATE INDEX CONCURRENTLY (or REINDEX CONCURRENTLY) leaves
 * behind. The planner never uses it, yet writes may still maintain it. Severity warning; the value is
 * its size in bytes. Subject: {@code database.schema.index}.
 */
@Singleton
public class InvalidIndexCheck extends RelationCheck {

    public static final String ID = "invalid_index";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.BYTES, SubjectKind.INDEX,
            "`indisvalid = false`, not being built (value: its size)",
            "Index {{ $labels.subject }} is invalid", InvalidIndexCheck::new).only(Severity.WARNING).alertAfter(Duration.ofMinutes(5));

    public InvalidIndexCheck(PgvigilConfig config) {
        super(SPEC, config.checks().invalidIndex(), 0, 0);
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of();
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        List<Evaluation> evaluations = new ArrayList<>();
        for (Index index : db.current().indexes()) {
            if (index.valid() || index.beingBuilt()) {
                continue;
            }
            String message = String.format(java.util.Locale.ROOT,
                    "index %s on %s in database %s is invalid (a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that"
                            + " failed): queries cannot use it but writes may still maintain it (%s); drop it with"
                            + " DROP INDEX CONCURRENTLY %s, fix the cause (often duplicate keys) and create it again",
                    index.name(), qualified(index.schema(), index.table()), db.datname(), size(index.sizeBytes()),
                    qualified(index.schema(), index.name()));
            evaluations.add(Evaluation.measured(subject(db, index), index.sizeBytes(), Severity.WARNING, 0, message)
                    .withAdvice(new Advice("DROP INDEX CONCURRENTLY " + qualified(index.schema(), index.name()) + ";",
                            false, "run in database " + db.datname() + "; no query can use an invalid index; fix the"
                                    + " cause (often duplicate keys) before creating it again")));
        }
        return evaluations;
    }
}
