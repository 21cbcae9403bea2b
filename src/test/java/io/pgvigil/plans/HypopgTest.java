package io.pgvigil.plans;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Finding;
import io.pgvigil.testing.DebianPostgres;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * The verified path of index advice, on Debian's PostgreSQL 15 with Debian's {@code postgresql-15-hypopg}
 * (zonky's binaries have no hypopg): the proposal is tried as a hypothetical index, the planner uses it
 * and the plan's cost drops by more than half, so the advice says "verified". A filter matching most
 * rows gets no proposal at all. Skips loudly without the packages, fails under CI.
 */
class HypopgTest {

    @Test
    void aProposedIndexIsVerifiedWithAHypotheticalIndex() throws Exception {
        DebianPostgres.requireHypopg();
        try (DebianPostgres pg = DebianPostgres.initdb()) {
            pg.start(Map.of("shared_preload_libraries", "pg_stat_statements", "autovacuum", "off"));
            pg.createMonitorRole();
            pg.execute("postgres", "CREATE EXTENSION pg_stat_statements", "CREATE DATABASE shop");
            pg.execute("shop", "CREATE EXTENSION hypopg",
                    "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric NOT NULL)",
                    "INSERT INTO orders SELECT g, g % 2000, g / 100.0 FROM generate_series(1, 40000) g");
            // The INSERT's counts reach the statistics up to a second later; ANALYZE after them, or 40,000 rows
            // would count as changed since it.
            PgServer.await("the load reaches the statistics", () -> {
                try (Connection c = pg.connect("shop"); var st = c.createStatement();
                        var rs = st.executeQuery("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'orders'")) {
                    return rs.next() && rs.getLong(1) >= 40000;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            pg.execute("shop", "ANALYZE orders",
                    "GRANT SELECT ON orders TO " + PgServer.MONITOR_ROLE);
            try (TestMonitor m = new TestMonitor(pg.config("pgvigil.indexes.interval", "1s", "pgvigil.databases.include",
                    "shop", "pgvigil.plans.enabled", "true"))) {
                m.poll();
                for (int round = 0; round < 3; round++) {
                    lookups(pg);
                    m.advance(java.time.Duration.ofMillis(1100)).poll();
                }
                Finding f = m.finding("seq_scan_heavy", "shop.public.orders").orElseThrow();
                assertThat(f.advice()).isNotNull();
                assertThat(f.advice().sql()).isEqualTo("CREATE INDEX CONCURRENTLY ON public.orders (customer_id);");
                assertThat(f.advice().verified()).as(f.advice().how()).isTrue();
                assertThat(f.advice().how()).startsWith("verified with a hypothetical index (hypopg): the planner uses it,"
                        + " and the plan's cost goes from ");
                assertThat(f.message()).contains("Proposed: CREATE INDEX CONCURRENTLY ON public.orders (customer_id);"
                        + " (verified with a hypothetical index (hypopg)");
            }
        }
    }

    private static void lookups(DebianPostgres pg) throws SQLException {
        try (Connection c = pg.connect("shop");
                PreparedStatement st = c.prepareStatement("SELECT id, total FROM orders WHERE customer_id = ?")) {
            for (int i = 0; i < 10; i++) {
                st.setInt(1, i);
                st.executeQuery().close();
            }
        }
        try {
            Thread.sleep(700); // PostgreSQL 15 flushes a backend's table statistics at most once a second
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
