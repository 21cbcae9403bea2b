package io.pgvigil.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

import io.pgvigil.target.ServerInfo;

/**
 * Reads one statistics view (or one group of settings) into an immutable result. Collectors are
 * CDI beans; the {@link io.pgvigil.core.Monitor} runs every one of them once per poll, inside one
 * read-only transaction, each under its own savepoint so that one failing leaves the others intact.
 *
 * @param <T> the result record, which is also how checks find it in a {@link Snapshot}
 */
public interface Collector<T> {

    /** The collector's key: its {@code collector} label, its name in logs and in {@code /api/v1/status}. */
    String key();

    /** The type of {@link #collect}'s result. */
    Class<T> resultType();

    /**
     * Why this collector cannot run on this server (a missing extension, a version too old), or
     * empty when it can. Checked every poll, so installing the extension switches it on.
     */
    default Optional<String> unavailable(ServerInfo server) {
        return Optional.empty();
    }

    /** Runs the collector's query. A thrown exception marks only this collector failed for this poll. */
    T collect(Connection connection, ServerInfo server) throws SQLException;

    /** A requirement helper: the reason when {@code extension} is not installed in the connected database. */
    static Optional<String> requireExtension(ServerInfo server, String extension) {
        return server.extensions().containsKey(extension)
                ? Optional.empty()
                : Optional.of("extension " + extension + " is not installed in the connected database");
    }
}
