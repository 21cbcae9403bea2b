package io.pgvigil.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.Duration;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.function.Predicate;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.replication.StatReplicationCollector.Standby;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.testing.MetricsDoc;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;
import io.pgvigil.core.PollState;
import io.pgvigil.core.CollectorStatus;

/**
 * A primary with a real streaming standby (a cold copy of its data directory), watched from both
 * sides, on every supported major. The standby reports every second instead of every ten
 * ({@code wal_receiver_status_interval}), only to keep the test short.
 */
class ReplicationMatrixTest {

    /** replication_lag at 1 s / 3 s instead of 5 s / 30 s: lag measured by the server needs real time to grow. */
    private static final String[] LOW_THRESHOLDS = {"pgvigil.checks.replication-lag.warning", "1s",
            "pgvigil.checks.replication-lag.critical", "3s"};

    static final Map<String, String> FAST_REPORTS = Map.of("wal_receiver_status_interval", "1s");

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void idlePrimaryIsNoLagAndPausedReplayOpensReplicationLagOnBothSides(int major) throws Exception {
        try (PgServer primary = PgServer.start(major, FAST_REPORTS); PgServer standby = primary.startStandby("standby_a");
                TestMonitor onPrimary = TestMonitor.watching(primary, LOW_THRESHOLDS);
                TestMonitor onStandby = TestMonitor.watching(standby, LOW_THRESHOLDS)) {
            Standby caughtUp = awaitStandby(onPrimary, s -> "streaming".equals(s.state()) && Long.valueOf(0).equals(s.replayLagBytes()));
            assertThat(caughtUp.applicationName()).isEqualTo("standby_a");
            assertThat(caughtUp.syncState()).isEqualTo("async");
            String labels = "application_name=\"standby_a\",client_addr=\"" + caughtUp.clientAddr() + "\"";
            assertThat(onPrimary.scrape()).contains("pg_replication_standby_info{" + labels
                    + ",state=\"streaming\",sync_state=\"async\"} 1.0\n",
                    "pg_replication_standby_lag_bytes{" + labels + ",stage=\"replay\"} 0.0\n");

            // Idle for longer than the warning threshold (1 s here): no lag on either side, although the
            // standby's last replayed transaction keeps getting older (on the server's clock: a real wait).
            Thread.sleep(1500);
            onPrimary.poll();
            onStandby.poll();
            assertThat(onPrimary.evaluation("replication_lag", "standby_a").orElseThrow().value()).isLessThan(1.0);
            assertThat(onStandby.evaluation("replication_lag", "self").orElseThrow().value()).isZero();
            assertThat(onPrimary.last().findings()).isEmpty();
            assertThat(onStandby.last().findings()).isEmpty();
            assertThat(onStandby.scrape()).contains("pg_standby_replay_lag_seconds 0.0\n", "pg_standby_wal_receiver_streaming 1.0\n",
                    "pg_standby_wal_receiver_status{status=\"streaming\"} 1.0\n");

            execute(standby, "SELECT pg_wal_replay_pause()");
            execute(primary, "CREATE TABLE lag_filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 20000) g");
            Standby behind = awaitStandby(onPrimary, s -> Long.valueOf(0).equals(s.flushLagBytes())
                    && s.replayLagBytes() != null && s.replayLagBytes() > 1_000_000);
            assertThat(behind.sentLagBytes()).isZero();
            assertThat(MetricsDoc.exported(onPrimary.scrape())).containsAll(java.util.Set.of(
                    "pg_replication_standby_lag_bytes", "pg_replication_standby_lag_seconds", "pg_replication_standby_info"));
            assertThat(MetricsDoc.exported(onStandby.scrape())).containsAll(java.util.Set.of("pg_standby_replay_lag_bytes",
                    "pg_standby_received_wal_position_bytes", "pg_standby_replayed_wal_position_bytes",
                    "pg_standby_replay_lag_seconds", "pg_standby_wal_receiver_streaming", "pg_standby_last_message_age_seconds",
                    "pg_standby_wal_receiver_status"));
            assertThat(MetricsDoc.documented()).containsAll(MetricsDoc.NEED_A_STANDBY);

            Finding onStandbySide = awaitFinding(onStandby, "self");
            assertThat(onStandbySide.message()).startsWith("this standby is").contains("received but not yet replayed");
            Finding onPrimarySide = awaitFinding(onPrimary, "standby_a");
            assertThat(onPrimarySide.message()).startsWith("standby 'standby_a' (").contains("replays", "not yet replayed");

            execute(standby, "SELECT pg_wal_replay_resume()");
            PgServer.await("replication_lag clears on the standby", () -> onStandby.poll().findings().isEmpty());
            PgServer.await("replication_lag clears on the primary", () -> onPrimary.poll().findings().isEmpty());
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void onAStandbyAStalledReceiverIsReportedAndPromotionSwitchesRole(int major) throws Exception {
        try (PgServer primary = PgServer.start(major, FAST_REPORTS); PgServer standby = primary.startStandby("standby_b");
                TestMonitor m = TestMonitor.watching(standby, LOW_THRESHOLDS)) {
            PgServer.await("the receiver streams", () -> m.poll().snapshot()
                    .get(io.pgvigil.replication.WalReceiverCollector.Receiver.class).map(r -> r.streaming()).orElse(false));
            PollState state = m.last();
            assertThat(state.snapshot().server().role()).isEqualTo("standby");
            assertThat(state.collectors()).filteredOn(c -> c.collector().equals("pg_stat_replication")).singleElement()
                    .satisfies(c -> assertThat(c.reason()).isEqualTo("the server is a standby; WAL senders are read on the primary"));
            assertThat(state.collectors()).filteredOn(CollectorStatus::enabled)
                    .allSatisfy(c -> assertThat(c.success()).as(c.collector()).isTrue());
            assertThat(m.scrape()).contains("pg_in_recovery 1.0\n", "pgvigil_collector_enabled{collector=\"pg_stat_replication\"} 0.0\n");

            // The primary goes away: the stream dies; that is reported, not shown as zero lag.
            primary.stop();
            // How long the receiver has been down is pgvigil's own measure: move its clock instead of waiting.
            PgServer.await("a critical replication_lag for the stalled receiver", () -> m.advance(Duration.ofSeconds(1))
                    .poll().findings().stream()
                    .anyMatch(f -> f.check().equals("replication_lag") && f.severity() == Severity.CRITICAL));
            assertThat(m.finding("replication_lag", "self").orElseThrow().message())
                    .startsWith("the WAL receiver is not streaming");
            assertThat(m.scrape()).contains("pg_standby_wal_receiver_streaming 0.0\n")
                    .doesNotContain("pg_standby_wal_receiver_status{status=\"streaming\"}");

            primary.startServer();
            PgServer.await("the receiver streams again and the finding clears",
                    () -> m.poll().findings().stream().noneMatch(f -> f.check().equals("replication_lag")));

            execute(standby, "SELECT pg_promote()");
            PgServer.await("the promoted standby is a primary", () -> !m.poll().snapshot().server().inRecovery());
            assertThat(m.last().collectors()).filteredOn(c -> c.collector().equals("pg_stat_replication")).singleElement()
                    .satisfies(c -> assertThat(c.success()).isTrue());
            assertThat(m.last().collectors()).filteredOn(c -> c.collector().equals("pg_stat_wal_receiver")).singleElement()
                    .satisfies(c -> assertThat(c.enabled()).isFalse());
            assertThat(m.scrape()).contains("pg_in_recovery 0.0\n", "pgvigil_collector_enabled{collector=\"pg_stat_replication\"} 1.0\n")
                    .doesNotContain("pg_standby_replay_lag_seconds");
        }
    }

    private static Finding awaitFinding(TestMonitor m, String subject) {
        PgServer.await("replication_lag for " + subject, () -> {
            m.poll();
            return m.finding("replication_lag", subject).isPresent();
        });
        return m.finding("replication_lag", subject).orElseThrow();
    }

    private static Standby awaitStandby(TestMonitor m, Predicate<Standby> condition) {
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
