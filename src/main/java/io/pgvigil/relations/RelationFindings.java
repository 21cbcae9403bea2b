package io.pgvigil.relations;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.PollState;

/** Which index and table findings are open in a poll's state, by subject ({@code database.schema.name}). */
public final class RelationFindings {

    public static final List<String> INDEX_CHECKS = ids(SubjectKind.INDEX);
    public static final List<String> TABLE_CHECKS = ids(SubjectKind.TABLE);

    private static List<String> ids(SubjectKind kind) {
        return Catalog.CHECKS.stream().filter(s -> s.subject() == kind).map(CheckSpec::id).toList();
    }

    /**
     * A finding one index or table is part of.
     *
     * @param severity the open finding's severity
     */
    public record Ref(String check, String severity, String message) {
    }

    private RelationFindings() {
    }

    /**
     * Open findings of {@code checks} by subject, from every evaluation and every open finding (not
     * only the published, capped findings list).
     */
    public static Map<String, List<Ref>> bySubject(PollState state, List<String> checks) {
        Map<String, Finding> published = new HashMap<>();
        state.open().forEach(f -> published.put(f.check() + "\n" + f.subject(), f));
        Map<String, List<Ref>> refs = new HashMap<>();
        Set<String> wanted = Set.copyOf(checks);
        state.evaluations().forEach((check, evaluations) -> {
            if (!wanted.contains(check)) {
                return;
            }
            for (Evaluation e : evaluations) {
                Ref ref = null;
                if (e.severity() != null) {
                    ref = new Ref(check, e.severity().label(), e.message());
                } else {
                    // Held (its database's visit failed) or kept open by the clearing margin.
                    Finding f = published.get(check + "\n" + e.subject());
                    if (f != null) {
                        ref = new Ref(check, f.severity().label(), f.message());
                    }
                }
                if (ref != null) {
                    refs.computeIfAbsent(e.subject(), k -> new ArrayList<>(1)).add(ref);
                }
            }
        });
        return refs;
    }
}
