package io.pgvigil.target;

import java.sql.Connection;
import java.sql.SQLException;

/** One open session on the target. Closing it closes the connection and frees its slot once. */
public final class Session implements AutoCloseable {

    private final Connection connection;
    private Runnable release;

    Session(Connection connection, Runnable release) {
        this.connection = connection;
        this.release = release;
    }

    public Connection connection() {
        return connection;
    }

    /** Reads what the server is right now (version, role, extensions); done once per poll. */
    public ServerInfo serverInfo() throws SQLException {
        return ServerInfo.read(connection);
    }

    /**
     * Whether the server has ended this session (asked only after a failure: on a live session it
     * costs a round trip).
     */
    public boolean isClosed() {
        try {
            return connection.isClosed() || !connection.isValid(2);
        } catch (SQLException e) {
            return true;
        }
    }

    @Override
    public synchronized void close() {
        if (release == null) {
            return;
        }
        try {
            connection.close();
        } catch (SQLException ignored) {
            // closing a broken connection: nothing more to do, the cause was reported where it broke
        } finally {
            release.run();
            release = null;
        }
    }
}
