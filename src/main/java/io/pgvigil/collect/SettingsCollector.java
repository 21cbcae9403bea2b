package io.pgvigil.collect;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.target.ServerInfo;

/**
 * Reads the connection-slot settings from {@code pg_settings}: {@code max_connections},
 * {@code superuser_reserved_connections} and, on PostgreSQL 16+, {@code reserved_connections}
 * (absent before 16, so it stays null there rather than becoming 0).
 *
 * <p>Series: {@code pg_settings_max_connections}, {@code pg_settings_superuser_reserved_connections},
 * {@code pg_settings_reserved_connections} (16+), {@code pg_connection_slots_usable}.
 */
@ApplicationScoped
public class SettingsCollector implements Collector<SettingsCollector.ConnectionSettings> {

    public static final String KEY = "pg_settings";

    static final String SQL = """
            SELECT name, setting::int AS value
              FROM pg_settings
             WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')
            """;

    /** @param reservedConnections null before PostgreSQL 16 */
    public record ConnectionSettings(int maxConnections, int superuserReservedConnections, Integer reservedConnections) {

        /** Slots an ordinary (non-superuser, non-pg_use_reserved_connections) client can take. */
        public int usableSlots() {
            return maxConnections - superuserReservedConnections
                    - (reservedConnections == null ? 0 : reservedConnections);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<ConnectionSettings> resultType() {
        return ConnectionSettings.class;
    }

    @Override
    public ConnectionSettings collect(Connection connection, ServerInfo server) throws SQLException {
        Map<String, Integer> values = new HashMap<>();
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                values.put(rs.getString("name"), rs.getInt("value"));
            }
        }
        if (!values.containsKey("max_connections") || !values.containsKey("superuser_reserved_connections")) {
            throw new SQLException("pg_settings did not return max_connections and superuser_reserved_connections");
        }
        return new ConnectionSettings(values.get("max_connections"), values.get("superuser_reserved_connections"),
                values.get("reserved_connections"));
    }
}
