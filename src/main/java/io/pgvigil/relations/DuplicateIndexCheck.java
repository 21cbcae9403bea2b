package io.pgvigil.relations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

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
 * {@code duplicate_index}: an index that another index of the same table makes redundant. Both must
 * be valid, use the same access method and have the same predicate and the same expressions. Then
 * the redundant one's key columns (with their operator class, collation and ordering) are a leading
 * prefix of the other's (btree; other methods only when identical), and its INCLUDE columns are
 * among the other's columns. An index that enforces something (unique, primary key, exclusion,
 * constraint) is only a duplicate of an identical index that enforces the same uniqueness, and of
 * two identical indexes the one a constraint needs, else the older, is kept. Severity info; the value
 * is the redundant index's size. Subject: {@code database.schema.index}.
 */
@Singleton
public class DuplicateIndexCheck extends RelationCheck {

    public static final String ID = "duplicate_index";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.BYTES, SubjectKind.INDEX,
            "an index another one on the same table makes redundant (value: its size)",
            "Index {{ $labels.subject }} is redundant", DuplicateIndexCheck::new).only(Severity.INFO).alertAfter(Duration.ofMinutes(30));

    public DuplicateIndexCheck(PgvigilConfig config) {
        super(SPEC, config.checks().duplicateIndex(), 0, 0);
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of();
    }

    @Override
    List<Evaluation> judge(DatabaseState db) {
        Map<Long, List<Index>> byTable = new LinkedHashMap<>();
        for (Index index : db.current().indexes()) {
            if (index.valid() && !index.beingBuilt() && !index.exclusion()) {
                byTable.computeIfAbsent(index.relid(), k -> new ArrayList<>()).add(index);
            }
        }
        List<Evaluation> evaluations = new ArrayList<>();
        for (List<Index> indexes : byTable.values()) {
            if (indexes.size() < 2) {
                continue;
            }
            indexes.sort(Comparator.comparingLong(Index::indexrelid));
            for (Index index : indexes) {
                coveredBy(index, indexes).ifPresent(keeper -> evaluations.add(Evaluation.measured(subject(db, index),
                        index.sizeBytes(), Severity.INFO, 0, message(db, index, keeper)).withAdvice(new Advice(
                                "DROP INDEX CONCURRENTLY " + qualified(index.schema(), index.name()) + ";", false,
                                "run in database " + db.datname() + "; " + keeper.name() + " serves the same leading"
                                        + " columns, so no plan needs to be checked"))));
            }
        }
        return evaluations;
    }

    /** The index that makes {@code index} redundant, if any. */
    static Optional<Index> coveredBy(Index index, List<Index> sameTable) {
        return sameTable.stream().filter(other -> other != index && redundant(index, other)).findFirst();
    }

    /** Whether {@code a} is redundant given {@code b} (never both, for two identical indexes). */
    static boolean redundant(Index a, Index b) {
        if (!a.method().equals(b.method()) || !Objects.equals(a.predicate(), b.predicate())
                || !Objects.equals(a.expressions(), b.expressions())) {
            return false;
        }
        boolean sameKeys = a.keyAttnums().equals(b.keyAttnums()) && a.keyOptions().equals(b.keyOptions());
        boolean prefix = a.method().equals("btree") && a.keyAttnums().size() <= b.keyAttnums().size()
                && a.keyAttnums().equals(b.keyAttnums().subList(0, a.keyAttnums().size()))
                && a.keyOptions().equals(b.keyOptions().subList(0, a.keyOptions().size()));
        if (!(sameKeys || prefix)) {
            return false;
        }
        var bColumns = new HashSet<>(b.keyAttnums());
        bColumns.addAll(b.includeAttnums());
        if (!bColumns.containsAll(a.includeAttnums())) {
            return false;
        }
        if (a.unique() || a.primary() || a.backsConstraint()) {
            // Its uniqueness or constraint is only as good as an identical unique index's.
            if (!(sameKeys && b.unique() && a.unique() && a.includeAttnums().equals(b.includeAttnums()))) {
                return false;
            }
            return rank(a) < rank(b) || (rank(a) == rank(b) && a.indexrelid() > b.indexrelid());
        }
        boolean identical = sameKeys && a.includeAttnums().equals(b.includeAttnums()) && !b.unique()
                && !b.primary() && !b.backsConstraint();
        // Of two identical plain indexes, the newer one goes.
        return !identical || a.indexrelid() > b.indexrelid();
    }

    /** Which of two identical unique indexes to keep: the one a constraint needs. */
    private static int rank(Index index) {
        return index.primary() ? 2 : index.backsConstraint() ? 1 : 0;
    }

    private static String message(DatabaseState db, Index index, Index keeper) {
        return String.format(java.util.Locale.ROOT,
                "index %s (%s) on %s in database %s is redundant: %s (%s) covers the same leading columns%s; dropping"
                        + " it saves %s and a write on every insert and non-HOT update: DROP INDEX CONCURRENTLY %s",
                index.name(), String.join(", ", index.columns()), qualified(index.schema(), index.table()),
                db.datname(), keeper.name(), String.join(", ", keeper.columns()),
                index.predicate() == null ? "" : " with the same predicate", size(index.sizeBytes()),
                qualified(index.schema(), index.name()));
    }
}
