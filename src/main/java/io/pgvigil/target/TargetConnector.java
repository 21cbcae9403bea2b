package io.pgvigil.target;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Semaphore;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.postgresql.Driver;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.config.Redact;

/**
 * Opens pgvigil's sessions on the target, never more than {@code pgvigil.target.max-connections}
 * at once. Every session is read-only, carries {@code application_name=pgvigil}, a statement and a
 * lock timeout, and a search_path that a hostile object in the target cannot hijack. The password
 * file is read at each open, so a rotated Kubernetes Secret is used from the next reconnect.
 */
@ApplicationScoped
public class TargetConnector {

    public static final String APPLICATION_NAME = "pgvigil";

    /** A session that a hung pgvigil leaves open in a transaction is ended by the server after this. */
    static final Duration IDLE_IN_TRANSACTION_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Runs under the role's own search_path, before the pin holds: every name is schema-qualified, or
     * a look-alike {@code set_config} earlier on that path would undo the whole pin. JIT is off:
     * pgvigil's queries read catalogs and statistics in a few milliseconds, and a planner estimate
     * over a large catalog past {@code jit_above_cost} made the server spend ~225 ms compiling one
     * of them (docs/performance.md, fourth pass).
     */
    private static final String SESSION_SETTINGS = """
            SELECT pg_catalog.set_config('default_transaction_read_only', 'on', false),
                   pg_catalog.set_config('statement_timeout', ?, false),
                   pg_catalog.set_config('lock_timeout', ?, false),
                   pg_catalog.set_config('idle_in_transaction_session_timeout', ?, false),
                   pg_catalog.set_config('jit', 'off', false),
                   pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)
            """;

    private static final Driver DRIVER = new Driver();

    private final PgvigilConfig.Target config;
    private final Instance<EmbeddedTarget> embedded;
    private final Semaphore permits;
    /** Database visits (index and table statistics) take one more session, one database at a time. */
    private final Semaphore visitPermit = new Semaphore(1);

    @Inject
    public TargetConnector(PgvigilConfig config, Instance<EmbeddedTarget> embedded) {
        this.config = config.target();
        this.embedded = embedded;
        this.permits = new Semaphore(Math.max(1, this.config.maxConnections()));
    }

    /** For use outside CDI (tests, benchmarks): no embedded target. */
    public TargetConnector(PgvigilConfig config) {
        this(config, null);
    }

    /** Where pgvigil connects: the configured URL, or the embedded demo server's. */
    public String url() {
        return config.url().orElseGet(() -> embedded().jdbcUrl());
    }

    /** The URL without any query string (which may carry credentials), for logs and the status API. */
    public String displayUrl() {
        try {
            return Redact.url(url());
        } catch (RuntimeException e) {
            return "(embedded target not started: " + e.getMessage() + ")";
        }
    }

    /**
     * Opens a session. The caller closes it, which frees its slot.
     *
     * @throws SQLException when the server cannot be reached or refuses the login, or when every
     *                      allowed connection is already open
     */
    public Session open() throws SQLException {
        if (!permits.tryAcquire()) {
            throw new SQLException("pgvigil already holds " + config.maxConnections()
                    + " connection(s) to the target, the limit set by pgvigil.target.max-connections", "53300");
        }
        return open(url(), permits);
    }

    /**
     * Opens a short session on another database of the same server, with the same settings, for a
     * database visit. At most one is open at any time, whatever {@code max-connections} says: the
     * visits add at most one connection to the main session.
     *
     * @throws SQLException when the database cannot be reached, or a visit session is already open
     */
    public Session openVisit(String database) throws SQLException {
        if (!visitPermit.tryAcquire()) {
            throw new SQLException("pgvigil already has its one database-visit session open", "53300");
        }
        return open(urlForDatabase(url(), database), visitPermit);
    }

    /**
     * The JDBC URL with its database replaced by {@code database}; hosts and parameters are kept.
     * Handles {@code jdbc:postgresql://host[:port][,host2...][/db][?params]} and {@code jdbc:postgresql:db[?params]}.
     */
    public static String urlForDatabase(String url, String database) {
        String prefix = "jdbc:postgresql:";
        if (!url.startsWith(prefix)) {
            throw new IllegalArgumentException("pgvigil.target.url='" + Redact.url(url) + "' is not a PostgreSQL JDBC URL");
        }
        String rest = url.substring(prefix.length());
        int q = rest.indexOf('?');
        String query = q < 0 ? "" : rest.substring(q);
        String location = q < 0 ? rest : rest.substring(0, q);
        String encoded = java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8);
        if (location.startsWith("//")) {
            int slash = location.indexOf('/', 2);
            String hosts = slash < 0 ? location.substring(2) : location.substring(2, slash);
            return prefix + "//" + hosts + "/" + encoded + query;
        }
        return prefix + encoded + query;
    }

    private Session open(String url, Semaphore permit) throws SQLException {
        Connection connection = null;
        try {
            connection = DRIVER.connect(url, properties());
            if (connection == null) {
                throw new SQLException("pgvigil.target.url='" + Redact.url(url) + "' is not a PostgreSQL JDBC URL");
            }
            try (PreparedStatement st = connection.prepareStatement(SESSION_SETTINGS)) {
                st.setString(1, Long.toString(config.statementTimeout().toMillis()));
                st.setString(2, Long.toString(config.lockTimeout().toMillis()));
                st.setString(3, Long.toString(IDLE_IN_TRANSACTION_TIMEOUT.toMillis()));
                st.execute();
            }
            connection.setAutoCommit(false);
            connection.setReadOnly(true);
            return new Session(connection, permit::release);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(connection);
            permit.release();
            throw e;
        }
    }

    private Properties properties() throws SQLException {
        Properties props = new Properties();
        props.setProperty("ApplicationName", APPLICATION_NAME);
        long connectSeconds = Math.max(1, config.connectTimeout().toSeconds());
        props.setProperty("connectTimeout", Long.toString(connectSeconds));
        props.setProperty("loginTimeout", Long.toString(connectSeconds));
        // The server ends a slow statement at statement_timeout; the socket timeout only catches a
        // network that stops answering altogether, so it is set well past it.
        long socketSeconds = config.statementTimeout().toSeconds() + connectSeconds + 10;
        props.setProperty("socketTimeout", Long.toString(socketSeconds));
        props.setProperty("tcpKeepAlive", "true");
        String user = config.username().orElseGet(() -> config.url().isPresent() ? null : embedded().username());
        if (user != null) {
            props.setProperty("user", user);
        }
        String password = password();
        if (password != null) {
            props.setProperty("password", password);
        }
        return props;
    }

    private String password() throws SQLException {
        if (config.passwordFile().isPresent()) {
            String file = config.passwordFile().get();
            try {
                return Files.readString(Path.of(file)).replaceAll("[\\r\\n]+$", "");
            } catch (IOException e) {
                throw new SQLException("pgvigil.target.password-file='" + file + "' cannot be read: " + e, "28P01");
            }
        }
        if (config.password().isPresent()) {
            return config.password().get();
        }
        return config.url().isPresent() ? null : embedded().password();
    }

    private EmbeddedTarget embedded() {
        if (embedded == null || !embedded.isResolvable()) {
            throw new IllegalStateException("pgvigil.target.url is not set and no embedded demo database is available");
        }
        return embedded.get();
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // the connection is being thrown away because of an earlier error, which is reported
            }
        }
    }
}
