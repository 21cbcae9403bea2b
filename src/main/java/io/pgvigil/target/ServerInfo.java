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
 * @param extensions        extensions installed in the connected database by name, with the schema each
 *                          lives in (pgvigil's search_path is pinned to pg_catalog, so their objects
 *                          must be schema-qualified) and its version (which decides its columns)
 * @param blockSize         {@code block_size} in bytes (8192 unless compiled otherwise)
 * @param preloadLibraries  {@code shared_preload_libraries}
 * @param userOid           oid of the role pgvigil is logged in as (its own statements are left out)
 * @param backendPid        pgvigil's own backend pid, so that collectors can leave it out
 * @param sharedBuffersBytes {@code shared_buffers} in bytes; null where unknown (polls recorded before it was read)
 */
public record ServerInfo(int versionNum, String version, boolean inRecovery, double startTimeSeconds,
        Map<String, Extension> extensions, int backendPid, int blockSize, String preloadLibraries, long userOid,
        Long sharedBuffersBytes) {

    public ServerInfo(int versionNum, String version, boolean inRecovery, double startTimeSeconds,
            Map<String, Extension> extensions, int backendPid, int blockSize, String preloadLibraries, long userOid) {
        this(versionNum, version, inRecovery, startTimeSeconds, extensions, backendPid, blockSize, preloadLibraries,
                userOid, null);
    }

    /** An installed extension: the schema holding its objects, and its version ("1.10"). */
    public record Extension(String schema, String version) {

        /** The schema as a quoted SQL identifier, to qualify the extension's objects with. */
        public String quotedSchema() {
            return '"' + schema.replace("\"", "\"\"") + '"';
        }

        /** Whether the installed version is at least major.minor. */
        public boolean atLeast(int major, int minor) {
            String[] parts = version.split("\\.");
            int ma = Integer.parseInt(parts[0]);
            int mi = parts.length > 1 ? Integer.parseInt(parts[1].replaceAll("\\D.*", "")) : 0;
            return ma > major || (ma == major && mi >= minor);
        }
    }

    static final String SQL = """
            SELECT current_setting('server_version_num')::int AS version_num,
                   current_setting('server_version') AS version,
                   pg_is_in_recovery() AS in_recovery,
                   extract(epoch FROM pg_postmaster_start_time())::float8 AS start_time_seconds,
                   ARRAY(SELECT e.extname::text FROM pg_extension e ORDER BY e.oid) AS extensions,
                   ARRAY(SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                          ORDER BY e.oid) AS extension_schemas,
                   ARRAY(SELECT e.extversion::text FROM pg_extension e ORDER BY e.oid) AS extension_versions,
                   pg_backend_pid() AS backend_pid,
                   current_setting('block_size')::int AS block_size,
                   current_setting('shared_preload_libraries') AS preload_libraries,
                   pg_size_bytes(current_setting('shared_buffers')) AS shared_buffers_bytes,
                   (SELECT oid::int8 FROM pg_roles WHERE rolname = session_user) AS user_oid
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
            String[] versions = (String[]) rs.getArray("extension_versions").getArray();
            Map<String, Extension> extensions = new TreeMap<>();
            for (int i = 0; i < names.length; i++) {
                extensions.put(names[i], new Extension(schemas[i], versions[i]));
            }
            return new ServerInfo(rs.getInt("version_num"), rs.getString("version"), rs.getBoolean("in_recovery"),
                    rs.getDouble("start_time_seconds"), Map.copyOf(extensions), rs.getInt("backend_pid"),
                    rs.getInt("block_size"), rs.getString("preload_libraries"), rs.getLong("user_oid"),
                    rs.getObject("shared_buffers_bytes", Long.class));
        }
    }
}
