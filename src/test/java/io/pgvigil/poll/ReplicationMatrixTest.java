package io.pgvigil.poll;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.collect.StatReplicationCollector.Standby;
import io.pgvigil.collect.StatReplicationCollector.Standbys;
import io.pgvigil.testing.MetricsDoc;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/** A primary with a real streaming standby (a cold copy of its data directory), on every supported major. */
class ReplicationMatrixTest {

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void standbyLagIsSeenFromThePrimaryWhileReplayIsPaused(int major) throws Exception {
        try (PgServer primary = PgServer.start(major); PgServer standby = primary.startStandby("standby_a");
                TestMonitor m = TestMonitor.watching(primary)) {
            Standby caughtUp = awaitStandby(m, s -> "streaming".equals(s.state()) && Long.valueOf(0).equals(s.replayLagBytes()));
            assertThat(caughtUp.applicationName()).isEqualTo("standby_a");
            assertThat(caughtUp.syncState()).isEqualTo("async");
            assertThat(caughtUp.clientAddr()).isNotEmpty();
            String labels = "application_name=\"standby_a\",client_addr=\"" + caughtUp.clientAddr() + "\"";
            assertThat(m.scrape()).contains("pg_replication_standby_info{" + labels
                    + ",state=\"streaming\",sync_state=\"async\"} 1.0\n",
                    "pg_replication_standby_lag_bytes{" + labels + ",stage=\"replay\"} 0.0\n");

            execute(standby, "SELECT pg_wal_replay_pause()");
            execute(primary, "CREATE TABLE lag_filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g");
            // Received and flushed by the standby, not replayed.
            Standby behind = awaitStandby(m, s -> s.flushLagBytes() != null && s.flushLagBytes() == 0
                    && s.replayLagBytes() != null && s.replayLagBytes() > 1_000_000);
            assertThat(behind.sentLagBytes()).isZero();
            assertThat(MetricsDoc.exported(m.scrape())).as("standby families, documented").containsAll(MetricsDoc.NEED_A_STANDBY);
            assertThat(MetricsDoc.documented()).containsAll(MetricsDoc.NEED_A_STANDBY);
            assertThat(m.scrape()).contains("pg_replication_standby_lag_bytes{" + labels + ",stage=\"replay\"} "
                    + behind.replayLagBytes().doubleValue() + "\n");

            execute(standby, "SELECT pg_wal_replay_resume()");
            awaitStandby(m, s -> Long.valueOf(0).equals(s.replayLagBytes()));
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void onAStandbyThePrimarySideCollectorsAreOffAndSayWhy(int major) throws Exception {
        try (PgServer primary = PgServer.start(major); PgServer standby = primary.startStandby("standby_b");
                TestMonitor m = TestMonitor.watching(standby)) {
            PollState state = m.poll();
            assertThat(state.up()).isTrue();
            assertThat(state.snapshot().server().role()).isEqualTo("standby");
            assertThat(state.collectors()).filteredOn(c -> c.collector().equals("pg_stat_replication")).singleElement()
                    .satisfies(c -> assertThat(c.reason()).isEqualTo("the server is a standby; WAL senders are read on the primary"));
            assertThat(state.collectors()).filteredOn(c -> c.collector().equals("pg_replication_slots")).singleElement()
                    .satisfies(c -> assertThat(c.enabled()).isFalse());
            assertThat(state.collectors()).filteredOn(CollectorStatus::enabled)
                    .allSatisfy(c -> assertThat(c.success()).as(c.collector()).isTrue());
            assertThat(m.scrape()).contains("pg_in_recovery 1.0\n",
                    "pgvigil_collector_enabled{collector=\"pg_stat_replication\"} 0.0\n");
        }
    }

    private static Standby awaitStandby(TestMonitor m, java.util.function.Predicate<Standby> condition) {
        PgServer.await("the standby as expected in pg_stat_replication", () -> {
            var standbys = m.poll().snapshot().get(Standbys.class).orElseThrow().standbys();
            return standbys.size() == 1 && condition.test(standbys.get(0));
        });
        return m.last().snapshot().get(Standbys.class).orElseThrow().standbys().get(0);
    }

    private static void execute(PgServer pg, String sql) throws SQLException {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}
