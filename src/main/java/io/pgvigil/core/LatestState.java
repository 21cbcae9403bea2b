package io.pgvigil.core;

import java.util.concurrent.atomic.AtomicReference;

import jakarta.enterprise.context.ApplicationScoped;

/** The current {@link PollState}: written by the poll, read by /metrics and the REST API. */
@ApplicationScoped
public class LatestState {

    private final AtomicReference<PollState> current = new AtomicReference<>(PollState.INITIAL);

    public PollState get() {
        return current.get();
    }

    void set(PollState state) {
        current.set(state);
    }
}
