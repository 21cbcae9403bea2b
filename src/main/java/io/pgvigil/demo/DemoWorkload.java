package io.pgvigil.demo;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.pgvigil.config.PgvigilConfig;
import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.scheduler.Scheduled;

/**
 * Keeps the demo database doing things worth flagging, on a two-minute cycle so that findings both
 * open and clear:
 * <ul>
 * <li>a rollback storm in {@code shop} (half of the orders fail) during the first minute: {@code rollback_rate};</li>
 * <li>a session idle in transaction for 90 s from the start of the cycle: {@code long_transaction} after 60 s;</li>
 * <li>a burst of connections during the second half-minute: {@code pool_saturation}.</li>
 * </ul>
 * Dev mode only, and only when the demo database is the target.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class DemoWorkload {

    private static final Logger LOG = Logger.getLogger(DemoWorkload.class);
    static final int CYCLE_SECONDS = 120;
    static final int BURST_CONNECTIONS = 14;

    @Inject
    DemoDatabase demo;

    @Inject
    PgvigilConfig config;

    private final long startNanos = System.nanoTime();
    private Connection idleInTransaction;
    private final List<Connection> burst = new ArrayList<>();
    private boolean prepared;
    private String lastError;

    @Scheduled(identity = "pgvigil-demo-workload", every = "2s", delayed = "3s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    synchronized void tick() {
        if (config.target().url().isPresent() || !demo.started()) {
            return;
        }
        long second = ((System.nanoTime() - startNanos) / 1_000_000_000L) % CYCLE_SECONDS;
        try {
            prepare();
            if (second < 60) {
                rollbackStorm();
            }
            holdIdleInTransaction(second < 90);
            holdBurst(second >= 30 && second < 60);
            lastError = null;
        } catch (SQLException e) {
            if (!e.getMessage().equals(lastError)) {
                LOG.warnf("demo workload: %s", e.getMessage());
                lastError = e.getMessage();
            }
        }
    }

    private void prepare() throws SQLException {
        if (prepared) {
            return;
        }
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer int NOT NULL,"
                    + " total numeric(10,2) NOT NULL CHECK (total > 0))");
        }
        prepared = true;
    }

    /** Ten orders per tick, every other one failing its CHECK constraint and rolled back by the "application". */
    private void rollbackStorm() throws SQLException {
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int i = 0; i < 10; i++) {
                try {
                    st.execute("INSERT INTO orders (customer, total) VALUES (" + i + ", " + (i % 2 == 0 ? "19.99" : "-1") + ")");
                    c.commit();
                } catch (SQLException e) {
                    c.rollback();
                }
            }
        }
    }

    private void holdIdleInTransaction(boolean hold) throws SQLException {
        if (hold && idleInTransaction == null) {
            idleInTransaction = demo.connect(DemoDatabase.DATABASE);
            idleInTransaction.setAutoCommit(false);
            try (Statement st = idleInTransaction.createStatement()) {
                st.execute("SELECT count(*) FROM orders WHERE customer = 7");
            }
        } else if (!hold && idleInTransaction != null) {
            closeAll(List.of(idleInTransaction));
            idleInTransaction = null;
        }
    }

    private void holdBurst(boolean hold) throws SQLException {
        if (hold) {
            while (burst.size() < BURST_CONNECTIONS) {
                burst.add(demo.connect(DemoDatabase.DATABASE));
            }
        } else if (!burst.isEmpty()) {
            closeAll(burst);
            burst.clear();
        }
    }

    private static void closeAll(List<Connection> connections) {
        for (Connection c : connections) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // a demo connection that is already gone
            }
        }
    }

    @PreDestroy
    synchronized void stop() {
        closeAll(burst);
        burst.clear();
        if (idleInTransaction != null) {
            closeAll(List.of(idleInTransaction));
        }
    }
}
