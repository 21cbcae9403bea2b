package io.pgvigil.core;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import io.pgvigil.target.ServerInfo;

/**
 * What one poll saw: the server and each collector's result, all read in one transaction. Immutable.
 * A collector that was off or failed has no result here.
 *
 * @param at      when the poll's transaction began
 * @param server  the server, or null when it could not be reached
 * @param results collector results by result type
 */
public record Snapshot(Instant at, ServerInfo server, Map<Class<?>, Object> results) {

    public Snapshot {
        results = Map.copyOf(results);
    }

    /** A poll that could not reach the target. */
    public static Snapshot down(Instant at) {
        return new Snapshot(at, null, Map.of());
    }

    public boolean up() {
        return server != null;
    }

    /** The result of the collector producing {@code type}, if it ran and succeeded. */
    public <T> Optional<T> get(Class<T> type) {
        return Optional.ofNullable(type.cast(results.get(type)));
    }
}
