package io.pgvigil.core;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;

/**
 * A check's verdicts when every subject of a large set that was not measured is held (a statement
 * pg_stat_statements keeps but that did not run). As a list it is the measured verdicts followed by
 * one {@link Evaluation#held} per held subject, built only when someone reads that far (a test, the
 * API). {@link FindingTracker} reads {@link #measured()} and asks {@link #holds} only about subjects
 * with an open finding: a held verdict changes nothing for a subject without one, so thousands of idle
 * statements cost nothing per poll. Immutable; the inputs must not change after construction.
 */
public abstract class HeldRest extends AbstractList<Evaluation> {

    private final List<Evaluation> measured;
    private List<Evaluation> all;

    protected HeldRest(List<Evaluation> measured) {
        this.measured = List.copyOf(measured);
    }

    /** The verdicts that are not the held rest (which may hold a subject too, listed before the rest). */
    public final List<Evaluation> measured() {
        return measured;
    }

    /** Whether the held rest has a verdict for {@code subject}. */
    public abstract boolean holds(String subject);

    /** The subjects of the held rest, in the order they are listed, each once. */
    protected abstract List<String> heldSubjects();

    @Override
    public final Evaluation get(int index) {
        return all().get(index);
    }

    @Override
    public final int size() {
        return all().size();
    }

    private synchronized List<Evaluation> all() {
        if (all == null) {
            List<String> held = heldSubjects();
            List<Evaluation> list = new ArrayList<>(measured.size() + held.size());
            list.addAll(measured);
            held.forEach(subject -> list.add(Evaluation.held(subject)));
            all = List.copyOf(list);
        }
        return all;
    }
}
