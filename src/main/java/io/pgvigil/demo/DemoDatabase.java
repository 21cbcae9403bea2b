package io.pgvigil.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import io.pgvigil.target.EmbeddedTarget;
import io.quarkus.arc.profile.IfBuildProfile;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * The demo target of {@code ./mvnw quarkus:dev}: an embedded PostgreSQL (zonky binaries,
 * pg_stat_statements preloaded) with a {@code pgvigil} role that has {@code pg_monitor} only.
 * Started on first use, i.e. only when {@code pgvigil.target.url} is not set.
 *
 * <p>Dev mode only: the bean is removed from every other build profile, and the zonky library and
 * its binaries are {@code provided} dependencies, which Quarkus puts on the dev-mode class path but
 * never into the packaged application.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class DemoDatabase implements EmbeddedTarget {

    private static final Logger LOG = Logger.getLogger(DemoDatabase.class);
    static final String ROLE = "pgvigil";
    static final String PASSWORD = "pgvigil-demo";
    static final String DATABASE = "shop";
    /** Where the rollback storm runs, apart from shop's busy statement workload that would dilute it. */
    static final String PAYMENTS = "payments";
    /** Small on purpose, so that the demo's connection burst saturates it. */
    static final int MAX_CONNECTIONS = 20;

    private EmbeddedPostgres server;

    private synchronized EmbeddedPostgres server() {
        if (server == null) {
            try {
                server = EmbeddedPostgres.builder()
                        .setServerConfig("shared_preload_libraries", "pg_stat_statements")
                        .setServerConfig("max_connections", Integer.toString(MAX_CONNECTIONS))
                        // small on purpose: random lookups over a larger index miss (index_hit_rate)
                        .setServerConfig("shared_buffers", "2MB")
                        // a logical slot that nobody reads holds the catalog xmin horizon (xmin_horizon)
                        .setServerConfig("wal_level", "logical")
                        // the smallest WAL budget: the demo's write bursts force checkpoints (checkpoint_pressure)
                        .setServerConfig("max_wal_size", "32MB")
                        .setServerConfig("min_wal_size", "32MB")
                        // the workload fails orders on purpose; keep those errors out of the console
                        .setServerConfig("log_min_messages", "fatal")
                        .start();
                try (Connection c = server.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
                    st.execute("CREATE ROLE " + ROLE + " LOGIN PASSWORD '" + PASSWORD + "' IN ROLE pg_monitor");
                    st.execute("CREATE EXTENSION pg_stat_statements");
                    st.execute("CREATE DATABASE " + DATABASE);
                    st.execute("CREATE DATABASE " + PAYMENTS);
                }
                LOG.infof("demo: embedded PostgreSQL started on port %d (no pgvigil.target.url set); "
                        + "a demo workload will breach pgvigil's checks", server.getPort());
            } catch (IOException e) {
                throw new UncheckedIOException("demo: the embedded PostgreSQL did not start", e);
            } catch (SQLException e) {
                throw new IllegalStateException("demo: preparing the embedded PostgreSQL failed", e);
            }
        }
        return server;
    }

    /** A superuser connection to the demo database, for the workload. */
    public Connection connect(String database) throws SQLException {
        return server().getDatabase("postgres", database).getConnection();
    }

    public boolean started() {
        return server != null;
    }

    @Override
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + server().getPort() + "/postgres";
    }

    @Override
    public String username() {
        return ROLE;
    }

    @Override
    public String password() {
        return PASSWORD;
    }

    @PreDestroy
    synchronized void stop() throws IOException {
        if (server != null) {
            server.close();
            server = null;
        }
    }
}
