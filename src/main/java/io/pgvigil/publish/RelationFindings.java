package io.pgvigil.publish;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pgvigil.check.DuplicateIndexCheck;
import io.pgvigil.check.Evaluation;
import io.pgvigil.check.Finding;
import io.pgvigil.check.InvalidIndexCheck;
import io.pgvigil.check.SeqScanHeavyCheck;
import io.pgvigil.check.UnusedIndexCheck;
import io.pgvigil.poll.PollState;

/** Which index and table findings are open in a poll's state, by subject ({@code database.schema.name}). */
final class RelationFindings {

    static final List<String> INDEX_CHECKS = List.of(UnusedIndexCheck.ID, DuplicateIndexCheck.ID, InvalidIndexCheck.ID);
    static final List<String> TABLE_CHECKS = List.of(SeqScanHeavyCheck.ID);

    /**
     * A finding one index or table is part of.
     *
     * @param severity null when its latest visit failed and the finding is held but left out of the
     *                 published list by {@code pgvigil.findings.max}
     */
    record Ref(String check, String severity, String message) {
    }

    private RelationFindings() {
    }

    /**
     * Open findings of {@code checks} by subject, from every evaluation (not only the published,
     * capped findings list).
     */
    static Map<String, List<Ref>> bySubject(PollState state, List<String> checks) {
        Map<String, Finding> published = new HashMap<>();
        state.findings().forEach(f -> published.put(f.check() + "\n" + f.subject(), f));
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
                } else if (e.hold()) {
                    Finding f = published.get(check + "\n" + e.subject());
                    ref = f == null ? new Ref(check, null, null) : new Ref(check, f.severity().label(), f.message());
                }
                if (ref != null) {
                    refs.computeIfAbsent(e.subject(), k -> new ArrayList<>(1)).add(ref);
                }
            }
        });
        return refs;
    }
}
