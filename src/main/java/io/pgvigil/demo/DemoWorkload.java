package io.pgvigil.demo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
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
 * <li>a rollback storm in {@code payments} (half of the payments fail) during the first minute: {@code rollback_rate};</li>
 * <li>a session idle in transaction for 90 s from the start of the cycle: {@code long_transaction} after 60 s;</li>
 * <li>a burst of connections during the second half-minute: {@code pool_saturation};</li>
 * <li>an ORM-style loop, customers then one query per customer for their orders, every tick: {@code n_plus_one};</li>
 * <li>a report that sleeps 250 ms, every tick: {@code slow_query};</li>
 * <li>a sort of 300,000 rows with a 64 kB work_mem, every fifth tick: {@code temp_spill};</li>
 * <li>lookups by SKU whose index is dropped at second 70 and rebuilt at second 110: {@code query_regression};</li>
 * <li>a physical replication slot that no standby ever reads, holding back the WAL all this writes:
 * {@code replication_slot} (dev mode lowers its warning threshold to 16 MiB, see application.properties);</li>
 * <li>while the SKU index is gone, those lookups scan all 300,000 items: {@code seq_scan_heavy};</li>
 * <li>{@code orders (customer)} next to {@code orders (customer, total)}: {@code duplicate_index};</li>
 * <li>an index on customer names that nothing reads: {@code unused_index} (dev mode: after 2 minutes);</li>
 * <li>a unique index built CONCURRENTLY over duplicate values, which fails and stays behind: {@code invalid_index};</li>
 * <li>random SKU lookups over an index larger than the demo server's 2 MB of shared buffers:
 * {@code index_hit_rate};</li>
 * <li>the session idle in transaction also holds a row lock on customer 7; from second 62 two
 * requests queue behind it (the second behind the first) until it ends at second 90: {@code lock_wait},
 * naming the idle session as the root of a chain two deep;</li>
 * <li>a logical replication slot that no consumer ever reads: its {@code catalog_xmin} stays where it
 * was made, {@code xmin_horizon} (dev mode lowers its warning to 150 transactions, which the
 * workload burns through in its first cycle). A slot holds only the catalog horizon, so vacuum can still
 * clean the demo's tables;</li>
 * <li>{@code events}, a table with autovacuum disabled whose 30,000 rows are all updated at second 20
 * and vacuumed at second 116: {@code vacuum_lag};</li>
 * <li>a write burst (about 40 MB of WAL) at seconds 100 and 104 against the demo server's 32 MB
 * {@code max_wal_size}: checkpoints requested by WAL volume, {@code checkpoint_pressure}.</li>
 * </ul>
 * {@code xid_wraparound} cannot be reached by a demo: it takes a billion transactions (the tests
 * reach it on a real server with {@code pg_resetwal}).
 * 
 * Dev mode only, and only when the demo database is the target.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class DemoWorkload {

    private static final Logger LOG = Logger.getLogger(DemoWorkload.class);
    static final int CYCLE_SECONDS = 120;
    static final int BURST_CONNECTIONS = 14;
    static final String FORGOTTEN_SLOT = "demo_forgotten_standby";
    static final String FORGOTTEN_LOGICAL_SLOT = "demo_forgotten_consumer";
    /** The customer whose row the idle transaction locks and the queued requests wait for. */
    static final int LOCKED_CUSTOMER = 7;
    static final int LOCK_WAITERS = 2;

    @Inject
    DemoDatabase demo;

    @Inject
    PgvigilConfig config;

    /** The workload's clock; a test runs the cycle faster than real time by replacing it. */
    java.util.function.LongSupplier nanoTime = System::nanoTime;
    private long startNanos = -1;
    private Connection idleInTransaction;
    private final List<Connection> burst = new ArrayList<>();
    /** The requests queued behind the idle transaction's row lock: they block, so they run on threads of their own. */
    private final java.util.concurrent.ExecutorService waiters = java.util.concurrent.Executors.newFixedThreadPool(
            LOCK_WAITERS, r -> {
                Thread t = new Thread(r, "pgvigil-demo-lock-waiter");
                t.setDaemon(true);
                return t;
            });
    private final List<java.util.concurrent.Future<?>> queued = new ArrayList<>();
    /** Steps that run once a cycle, at the first tick at or after their second (ticks need not land on it). */
    private final java.util.Set<String> doneThisCycle = new java.util.HashSet<>();
    private long cycle;
    private boolean prepared;
    private boolean indexed = true;
    private long ticks;
    private String lastError;

    @Scheduled(identity = "pgvigil-demo-workload", every = "2s", delayed = "3s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    synchronized void tick() {
        if (config.target().url().isPresent() || !demo.started()) {
            return;
        }
        if (startNanos < 0) {
            startNanos = nanoTime.getAsLong();
        }
        long elapsed = (nanoTime.getAsLong() - startNanos) / 1_000_000_000L;
        long second = elapsed % CYCLE_SECONDS;
        if (elapsed / CYCLE_SECONDS != cycle) {
            cycle = elapsed / CYCLE_SECONDS;
            doneThisCycle.clear();
        }
        try {
            prepare();
            if (second < 60) {
                rollbackStorm();
            }
            holdIdleInTransaction(second < 90);
            queueBehindLock(second >= 62 && second < 90);
            holdBurst(second >= 30 && second < 60);
            maintenance(second);
            try (Connection c = demo.connect(DemoDatabase.DATABASE)) {
                ordersPerCustomer(c);
                slowReport(c);
                if (++ticks % 5 == 0) {
                    spillingSort(c);
                }
                lookups(c, second >= 70 && second < 110);
            }
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
        try (Connection c = demo.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("SELECT pg_create_physical_replication_slot('" + FORGOTTEN_SLOT + "', true)"
                    + " WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '" + FORGOTTEN_SLOT + "')");
        }
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer int NOT NULL,"
                    + " total numeric(10,2) NOT NULL CHECK (total > 0))");
            st.execute("CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer)");
            st.execute("CREATE TABLE IF NOT EXISTS customers (id int PRIMARY KEY, name text NOT NULL)");
            st.execute("INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 150) g ON CONFLICT DO NOTHING");
            st.execute("CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, sku text NOT NULL, payload text)");
            st.execute("INSERT INTO items SELECT g, 'sku-' || g, md5(g::text) FROM generate_series(1, 300000) g"
                    + " ON CONFLICT DO NOTHING");
            st.execute("CREATE INDEX IF NOT EXISTS items_sku ON items (sku)");
            st.execute("CREATE INDEX IF NOT EXISTS orders_customer_total ON orders (customer, total)");
            st.execute("CREATE INDEX IF NOT EXISTS customers_name ON customers (name)");
            try {
                // Every name starts with "customer": the build fails and leaves an invalid index behind.
                st.execute("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS customers_name_prefix"
                        + " ON customers (left(name, 8))");
            } catch (SQLException expected) {
                // 23505, as intended
            }
            st.execute("ANALYZE");
        }
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS events (id int PRIMARY KEY, seen int NOT NULL DEFAULT 0)"
                    + " WITH (autovacuum_enabled = false)");
            st.execute("INSERT INTO events SELECT g FROM generate_series(1, 30000) g ON CONFLICT DO NOTHING");
            st.execute("CREATE TABLE IF NOT EXISTS wal_burst (id int, filler text)");
            st.execute("VACUUM ANALYZE events");
        }
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            // A change-data-capture consumer that was set up and went away.
            st.execute("SELECT pg_create_logical_replication_slot('" + FORGOTTEN_LOGICAL_SLOT + "', 'test_decoding')"
                    + " WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '" + FORGOTTEN_LOGICAL_SLOT + "')");
        }
        try (Connection c = demo.connect(DemoDatabase.PAYMENTS); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS payments (id bigserial PRIMARY KEY, customer int NOT NULL,"
                    + " amount numeric(10,2) NOT NULL CHECK (amount > 0))");
        }
        prepared = true;
    }

    /** The N+1: list customers, then one query per customer, as a lazy-loading ORM does. */
    private static void ordersPerCustomer(Connection c) throws SQLException {
        List<Integer> customers = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM customers ORDER BY id LIMIT 120")) {
            while (rs.next()) {
                customers.add(rs.getInt(1));
            }
        }
        try (PreparedStatement st = c.prepareStatement("SELECT id, total FROM orders WHERE customer = ?")) {
            for (int id : customers) {
                st.setInt(1, id);
                st.executeQuery().close();
            }
        }
    }

    private static void slowReport(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.executeQuery("SELECT count(*), pg_sleep(0.25) FROM orders").close();
        }
    }

    private static void spillingSort(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET work_mem = '64kB'");
            st.executeQuery("SELECT id FROM items ORDER BY payload OFFSET 299990").close();
            st.execute("RESET work_mem");
        }
    }

    /** Ten lookups by SKU; without the index (dropped for a while each cycle) each scans the whole table. */
    private void lookups(Connection c, boolean withoutIndex) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (withoutIndex && indexed) {
                st.execute("DROP INDEX items_sku");
                indexed = false;
            } else if (!withoutIndex && !indexed) {
                st.execute("CREATE INDEX items_sku ON items (sku)");
                indexed = true;
            }
        }
        try (PreparedStatement st = c.prepareStatement("SELECT id, payload FROM items WHERE sku = ?")) {
            for (int i = 0; i < 10; i++) {
                st.setString(1, "sku-" + (ticks * 7919L + i * 104729L) % 300000);
                st.executeQuery().close();
            }
        }
    }

    /** Ten payments per tick, every other one failing its CHECK constraint and rolled back by the "application". */
    private void rollbackStorm() throws SQLException {
        try (Connection c = demo.connect(DemoDatabase.PAYMENTS); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            for (int i = 0; i < 10; i++) {
                try {
                    st.execute("INSERT INTO payments (customer, amount) VALUES (" + i + ", " + (i % 2 == 0 ? "19.99" : "-1") + ")");
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
                st.execute("SELECT count(*) FROM orders WHERE customer = " + LOCKED_CUSTOMER);
                st.execute("SELECT id FROM customers WHERE id = " + LOCKED_CUSTOMER + " FOR UPDATE");
            }
        } else if (!hold && idleInTransaction != null) {
            closeAll(List.of(idleInTransaction));
            idleInTransaction = null;
        }
    }

    /** Requests that update the locked customer: each waits until the idle transaction ends (at most 60 s). */
    private void queueBehindLock(boolean queue) {
        queued.removeIf(java.util.concurrent.Future::isDone);
        if (!queue || !queued.isEmpty()) {
            return;
        }
        for (int i = 0; i < LOCK_WAITERS; i++) {
            queued.add(waiters.submit(() -> {
                try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
                    st.execute("SET lock_timeout = '60s'");
                    st.execute("UPDATE customers SET name = name WHERE id = " + LOCKED_CUSTOMER);
                } catch (SQLException e) {
                    LOG.debugf("demo lock waiter: %s", e.getMessage());
                }
            }));
            if (i + 1 < LOCK_WAITERS) {
                // The second one queues behind the first, which makes the chain two deep.
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Vacuum and WAL: every row of {@code events} (autovacuum off) is updated at second 20 and vacuumed
     * at second 116; at seconds 100 and 104 a write burst fills the 32 MB WAL budget.
     */
    private void maintenance(long second) throws SQLException {
        try (Connection c = demo.connect(DemoDatabase.DATABASE); Statement st = c.createStatement()) {
            if (due("update events", second, 20)) {
                st.execute("UPDATE events SET seen = seen + 1");
            }
            if (due("first write burst", second, 100) || due("second write burst", second, 104)) {
                st.execute("INSERT INTO wal_burst SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 100000) g");
                st.execute("TRUNCATE wal_burst");
            }
            if (due("vacuum events", second, 116)) {
                st.execute("VACUUM events");
            }
        }
    }

    private boolean due(String step, long second, long at) {
        return second >= at && doneThisCycle.add(step);
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
        waiters.shutdownNow();
        closeAll(burst);
        burst.clear();
        if (idleInTransaction != null) {
            closeAll(List.of(idleInTransaction));
        }
    }
}
