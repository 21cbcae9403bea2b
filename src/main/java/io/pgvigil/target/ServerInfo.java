package io.pgvigil.target;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.TreeMap;

/**
 * What pgvigil knows about the server it is connected to, read at the start of every poll so that
 * a promotion, a restart or a newly installed extension is seen without reconnecting.
 *
 * @param versionNum        {@code server_version_num}, e.g. 170004
 * @param version           {@code server_version}, e.g. "17.4"
 * @param inRecovery        {@code pg_is_in_recovery()}: true on a standby
 * @param startTimeSeconds  {@code pg_postmaster_start_time()} as epoch seconds: changes on restart
 * @param extensions        extensions installed in the connected database, with the schema each lives
 *                          in (pgvigil's search_path is pinned to pg_catalog, so their objects must be
 *                          schema-qualified)
 * @param backendPid        pgvigil's own backend pid, so that collectors can leave it out
 */
public record ServerInfo(int versionNum, String version, boolean inRecovery, double startTimeSeconds,
        Map<String, String> extensions, int backendPid) {

    static final String SQL = """
            SELECT current_setting('server_version_num')::int AS version_num,
                   current_setting('server_version') AS version,
                   pg_is_in_recovery() AS in_recovery,
                   extract(epoch FROM pg_postmaster_start_time())::float8 AS start_time_seconds,
                   ARRAY(SELECT e.extname::text FROM pg_extension e ORDER BY e.oid) AS extensions,
                   ARRAY(SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                          ORDER BY e.oid) AS extension_schemas,
                   pg_backend_pid() AS backend_pid
            """;

    /** The major version: 13 for 13.x, ..., 18 for 18.x. */
    public int major() {
        return versionNum / 10000;
    }

    /** "primary" or "standby". */
    public String role() {
        return inRecovery ? "standby" : "primary";
    }

    static ServerInfo read(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(SQL); ResultSet rs = st.executeQuery()) {
            rs.next();
            String[] names = (String[]) rs.getArray("extensions").getArray();
            String[] schemas = (String[]) rs.getArray("extension_schemas").getArray();
            Map<String, String> extensions = new TreeMap<>();
            for (int i = 0; i < names.length; i++) {
                extensions.put(names[i], schemas[i]);
            }
            return new ServerInfo(rs.getInt("version_num"), rs.getString("version"), rs.getBoolean("in_recovery"),
                    rs.getDouble("start_time_seconds"), Map.copyOf(extensions), rs.getInt("backend_pid"));
        }
    }
}
