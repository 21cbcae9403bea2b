package io.pgvigil.core;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A savepoint with a fixed name, issued as plain SQL. pgjdbc's {@link Connection#setSavepoint()}
 * names each savepoint {@code JDBC_SAVEPOINT_<n>} with a counter that never stops growing, and
 * PostgreSQL 13 to 16 keep each such name as a pg_stat_statements entry of its own (17 and 18
 * normalise it): a few new entries per poll that would fill pg_stat_statements and evict the
 * statements of the application pgvigil watches. These texts are the same in every poll, so they
 * stay one entry each.
 *
 * <p>Setting a name again inside the same transaction keeps the older savepoint (PostgreSQL's
 * behaviour, not the SQL standard's) and {@code ROLLBACK TO} returns to the newest one of that name,
 * which is the one just set; {@code COMMIT} releases them all.
 */
public final class Savepoint {

    private final Connection connection;
    private final String name;

    private Savepoint(Connection connection, String name) {
        this.connection = connection;
        this.name = name;
    }

    /**
     * Sets savepoint {@code name} (a constant SQL identifier; never anything built from data).
     */
    public static Savepoint set(Connection connection, String name) throws SQLException {
        if (!name.matches("[a-z_]+")) {
            throw new IllegalArgumentException("a savepoint name is a constant identifier, not " + name);
        }
        run(connection, "SAVEPOINT " + name);
        return new Savepoint(connection, name);
    }

    /** Undoes what was done since {@link #set}, which leaves the transaction usable again after an error. */
    public void rollback() throws SQLException {
        run(connection, "ROLLBACK TO SAVEPOINT " + name);
    }

    private static void run(Connection connection, String sql) throws SQLException {
        try (Statement st = connection.createStatement()) {
            st.execute(sql);
        }
    }
}
