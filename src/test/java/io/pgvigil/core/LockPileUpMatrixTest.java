package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.Statement;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.relations.Relations;

/**
 * A session holding an ACCESS EXCLUSIVE lock while pgvigil polls. pgvigil never opens user
 * relations (sizes come from relpages, not pg_relation_size()), so a locked table blocks no
 * collector and no database visit; a locked statistics view fails only the collector that reads
 * it, within the lock timeout, and pgvigil keeps to its connections.
 */
class LockPileUpMatrixTest {

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void anExclusivelyLockedTableBlocksNoCollectorAndNoVisit(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.recreateDatabase("locked");
        try (Connection c = pg.connect("locked"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE busy (id int PRIMARY KEY, v int)");
            st.execute("CREATE INDEX busy_v ON busy (v)");
            st.execute("INSERT INTO busy SELECT g, g FROM generate_series(1, 1000) g");
            st.execute("ANALYZE busy");
        }
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.lock-timeout", "500ms",
                "pgvigil.indexes.interval", "1s", "pgvigil.databases.include", "locked");
                Connection holder = pg.connect("locked"); Connection admin = pg.connect("postgres")) {
            m.poll();
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE");
            }
            for (int round = 0; round < 3; round++) {
                PollState state = m.advance(java.time.Duration.ofMillis(1100)).poll();
                assertThat(state.up()).isTrue();
                assertThat(state.collectors()).filteredOn(CollectorStatus::enabled)
                        .allSatisfy(c -> assertThat(c.success()).as(c.collector() + ": " + c.error()).isTrue());
                Relations relations = state.snapshot().get(Relations.class).orElseThrow();
                assertThat(relations.visits()).singleElement().satisfies(v -> {
                    assertThat(v.success()).as(v.error()).isTrue();
                    assertThat(v.indexes()).isEqualTo(2);
                });
                // Nothing waited for the lock: the whole poll, visit included, is well under the lock timeout.
                assertThat(state.durationSeconds()).isLessThan(0.5);
            }
            // The visit session is closed; its backend leaves pg_stat_activity a moment later.
            PgServer.await("only pgvigil's main session remains", () -> pg.monitorSessions(admin) == 1);
            holder.rollback();
        } finally {
            pg.execute("DROP DATABASE IF EXISTS locked WITH (FORCE)");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aLockedStatisticsViewFailsOnlyItsCollectorWithinTheLockTimeout(int major) throws Exception {
        assumeTrue(major >= 14, "pg_stat_statements_info, the view locked here, exists from PostgreSQL 14 (extension 1.9)");
        PgServer pg = PgServer.shared(major);
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.target.lock-timeout", "500ms");
                Connection holder = pg.connect("postgres"); Connection admin = pg.connect("postgres")) {
            m.poll();
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement()) {
                st.execute("LOCK TABLE pg_stat_statements_info IN ACCESS EXCLUSIVE MODE");
            }
            for (int round = 0; round < 3; round++) {
                PollState state = m.poll();
                assertThat(state.up()).isTrue();
                CollectorStatus statements = state.collectors().stream()
                        .filter(c -> c.collector().equals("pg_stat_statements")).findFirst().orElseThrow();
                assertThat(statements.success()).isFalse();
                assertThat(statements.error()).contains("55P03");
                assertThat(state.collectors()).filteredOn(c -> c.enabled() && !c.collector().equals("pg_stat_statements"))
                        .allSatisfy(c -> assertThat(c.success()).as(c.collector()).isTrue());
                // One lock wait of 500 ms, then the poll goes on.
                assertThat(state.durationSeconds()).isBetween(0.45, 1.5);
                assertThat(pg.monitorSessions(admin)).isEqualTo(1);
            }
            holder.rollback();
            PollState after = m.poll();
            assertThat(after.collectors()).filteredOn(c -> c.collector().equals("pg_stat_statements"))
                    .allSatisfy(c -> assertThat(c.success()).isTrue());
        }
    }
}
