package io.pgvigil.vacuum;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.Collector;
import io.pgvigil.target.ServerInfo;

/**
 * Reads {@code pg_database} (PostgreSQL 13-18, primary and standby): how old each database's oldest
 * unfrozen transaction ID and MultiXact ID are ({@code age(datfrozenxid)}, {@code mxid_age(datminmxid)}),
 * with the two settings from which autovacuum vacuums a table to prevent wraparound whatever its
 * other settings. Every database, templates and those that refuse connections included: autovacuum
 * must freeze them too. One query; the settings ride on it, read once.
 *
 * <p>Series: {@code pg_database_datfrozenxid_age}, {@code pg_database_datminmxid_age} (both {datname}),
 * {@code pg_settings_autovacuum_freeze_max_age}, {@code pg_settings_autovacuum_multixact_freeze_max_age}.
 */
@ApplicationScoped
public class DatabaseAgeCollector implements Collector<DatabaseAgeCollector.DatabaseAges> {

    public static final String KEY = "pg_database";

    static final String SQL = """
            SELECT d.datname,
                   d.datallowconn AS allows_connections,
                   d.datistemplate AS template,
                   d.datconnlimit = -2 AS invalid,
                   age(d.datfrozenxid)::int8 AS xid_age,
                   mxid_age(d.datminmxid)::int8 AS mxid_age,
                   s.freeze_max_age,
                   s.multixact_freeze_max_age
              FROM pg_database d
             CROSS JOIN (SELECT current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age,
                                current_setting('autovacuum_multixact_freeze_max_age')::int8 AS multixact_freeze_max_age) s
             ORDER BY d.datname
            """;

    /**
     * One database's freeze ages.
     *
     * @param allowsConnections {@code datallowconn}: false for template0, which pgvigil cannot visit
     * @param xidAge            {@code age(datfrozenxid)}: transactions since the oldest one not yet frozen
     * @param mxidAge           {@code mxid_age(datminmxid)}: MultiXact IDs since the oldest one still in use
     * @param template          {@code datistemplate}: pgvigil does not visit templates
     * @param invalid           {@code datconnlimit = -2}: left by an interrupted DROP DATABASE, nobody can connect
     */
    public record DatabaseAge(String datname, boolean allowsConnections, long xidAge, long mxidAge, boolean template,
            boolean invalid) {

        /** Neither a template nor an invalid database (recordings made before these were read). */
        public DatabaseAge(String datname, boolean allowsConnections, long xidAge, long mxidAge) {
            this(datname, allowsConnections, xidAge, mxidAge, false, false);
        }
    }

    /**
     * @param freezeMaxAge          {@code autovacuum_freeze_max_age}: xid age from which autovacuum vacuums a
     *                              table to prevent wraparound, even with autovacuum off
     * @param multixactFreezeMaxAge {@code autovacuum_multixact_freeze_max_age}: the same for MultiXact IDs
     */
    public record DatabaseAges(List<DatabaseAge> databases, long freezeMaxAge, long multixactFreezeMaxAge) {
        public DatabaseAges {
            databases = List.copyOf(databases);
        }
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<DatabaseAges> resultType() {
        return DatabaseAges.class;
    }

    @Override
    public DatabaseAges collect(Connection connection, ServerInfo server) throws SQLException {
        List<DatabaseAge> rows = new ArrayList<>();
        long freezeMaxAge = 0;
        long multixactFreezeMaxAge = 0;
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                rows.add(new DatabaseAge(rs.getString("datname"), rs.getBoolean("allows_connections"),
                        rs.getLong("xid_age"), rs.getLong("mxid_age"), rs.getBoolean("template"),
                        rs.getBoolean("invalid")));
                freezeMaxAge = rs.getLong("freeze_max_age");
                multixactFreezeMaxAge = rs.getLong("multixact_freeze_max_age");
            }
        }
        return new DatabaseAges(rows, freezeMaxAge, multixactFreezeMaxAge);
    }
}
