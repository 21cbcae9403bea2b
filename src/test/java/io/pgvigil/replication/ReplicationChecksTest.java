package io.pgvigil.replication;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.replication.StatReplicationCollector.Standby;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.replication.WalReceiverCollector.Receiver;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code replication_slot} and {@code replication_lag} on what ReplicationSlotMatrixTest and
 * ReplicationMatrixTest recorded (PostgreSQL 18): a slot nobody reads while WAL is written; a primary
 * and its streaming standby, idle, then with replay paused on the standby, watched from both sides;
 * a standby whose primary stops. Lag thresholds 1 s and 3 s, as in the matrix tests.
 */
class ReplicationChecksTest {

    static final String SLOT = "ReplicationSlotMatrixTest.inactiveSlotRetainingWalOpensReplicationSlotAndDroppingItClears";
    static final String NOT_RESERVED = "ReplicationSlotMatrixTest.aSlotThatNeverReservedWalIsNotJudged";
    static final String PAUSED_REPLAY = "ReplicationMatrixTest.idlePrimaryIsNoLagAndPausedReplayOpensReplicationLagOnBothSides";
    static final String STALLED = "ReplicationMatrixTest.onAStandbyAStalledReceiverIsReportedAndPromotionSwitchesRole";

    private static Check lag() {
        return check("replication_lag", "pgvigil.checks.replication-lag.warning", "1s",
                "pgvigil.checks.replication-lag.critical", "3s");
    }

    @Test
    void anInactiveSlotRetainingWalOpensReplicationSlotAndDroppingItLeavesNothing() {
        List<Poll> polls = Recordings.polls(SLOT, 18);
        List<List<Evaluation>> verdicts = judge(check("replication_slot", "pgvigil.checks.replication-slot.warning", "1M",
                "pgvigil.checks.replication-slot.critical", "1G"), polls);
        long retained = polls.get(1).get(ReplicationSlotsCollector.Slots.class).slots().get(0).retainedBytes();
        assertThat(retained).isGreaterThan(1024 * 1024L);
        assertThat(verdicts.get(1)).containsExactly(Evaluation.measured("forgotten_standby", retained, Severity.WARNING,
                1048576, String.format(Locale.ROOT, "inactive physical slot 'forgotten_standby' retains %.1f MiB of WAL"
                        + " (wal_status reserved); the server keeps that WAL until a consumer reads from the slot or it"
                        + " is dropped with pg_drop_replication_slot('forgotten_standby')", retained / 1048576.0)));
        assertThat(verdicts.get(0)).singleElement().satisfies(e -> assertThat(e.severity()).isNull());
        assertThat(verdicts.get(2)).as("dropped").isEmpty();
        assertThat(judge(check("replication_slot"), polls).get(1)).as("below the default 1 GiB").singleElement()
                .satisfies(e -> assertThat(e.severity()).isNull());
    }

    @Test
    void aSlotThatNeverReservedWalIsNotJudged() {
        assertThat(judge(check("replication_slot", "pgvigil.checks.replication-slot.warning", "1"),
                Recordings.polls(NOT_RESERVED, 18))).containsExactly(List.of());
    }

    /**
     * On the primary: the standby's replay_lag as PostgreSQL measures it, 0 when it has none (idle,
     * caught up). The recording runs until the paused replay opened the finding and, resumed, cleared it.
     */
    @Test
    void onThePrimaryEachStandbyIsJudgedByItsReplayLag() {
        List<Poll> polls = Recordings.polls(PAUSED_REPLAY, 18);
        List<List<Evaluation>> verdicts = judge(lag(), polls);
        boolean warned = false;
        for (int poll = 0; poll < polls.size(); poll++) {
            Standby s = polls.get(poll).get(Standbys.class).standbys().get(0);
            double seconds = s.replayLagSeconds() == null ? 0 : s.replayLagSeconds();
            Severity severity = seconds >= 3 ? Severity.CRITICAL : seconds >= 1 ? Severity.WARNING : null;
            warned |= severity == Severity.WARNING;
            assertThat(verdicts.get(poll)).as("poll %d", poll + 1).containsExactly(Evaluation.measured("standby_a",
                    seconds, severity, severity == Severity.CRITICAL ? 3 : 1, String.format(Locale.ROOT,
                            "standby 'standby_a' (%s, streaming, async) replays %.1f s behind the primary, %.1f MiB of"
                                    + " WAL not yet replayed", s.clientAddr().isEmpty() ? "local socket" : s.clientAddr(),
                            seconds, s.replayLagBytes() / 1048576.0)));
        }
        assertThat(polls).as("an idle standby without a measurement")
                .anySatisfy(p -> assertThat(p.get(Standbys.class).standbys().get(0).replayLagSeconds()).isNull());
        assertThat(warned).as("the paused replay reached the warning").isTrue();
    }

    /**
     * On the standby: replay paused, so WAL waits; no transaction was replayed since the standby
     * started, so PostgreSQL gives no replay delay, and the lag is how long replay has not advanced,
     * counted from the poll that first saw WAL waiting, until replay moves again.
     */
    @Test
    void onTheStandbyReplayThatDoesNotAdvanceWhileWalWaitsIsLag() {
        List<Poll> polls = Recordings.polls(PAUSED_REPLAY, "18-2");
        List<List<Evaluation>> verdicts = judge(lag(), polls);
        int poll = 0;
        while (polls.get(poll).get(Receiver.class).replayLagBytes() == 0) {
            assertThat(verdicts.get(poll)).containsExactly(Evaluation.measured("self", 0, null, 1,
                    "this standby is 0.0 s behind: 0.0 MiB received but not yet replayed"));
            poll++;
        }
        assertThat(poll).as("polls before the pause").isPositive();
        Poll paused = polls.get(poll);
        Severity last = null;
        for (; polls.get(poll).get(Receiver.class).replayedBytes().equals(paused.get(Receiver.class).replayedBytes());
                poll++) {
            Receiver r = polls.get(poll).get(Receiver.class);
            assertThat(r.replayLagSeconds()).isZero();
            double seconds = Duration.between(paused.snapshot().at(), polls.get(poll).snapshot().at()).toNanos() / 1e9;
            last = seconds >= 1 ? Severity.WARNING : null;
            assertThat(verdicts.get(poll)).as("poll %d", poll + 1).containsExactly(Evaluation.measured("self", seconds,
                    last, 1, String.format(Locale.ROOT,
                            "this standby is %.1f s behind: %.1f MiB received but not yet replayed%s", seconds,
                            r.replayLagBytes() / 1048576.0, seconds > 0 ? String.format(Locale.ROOT,
                                    "; replay has not advanced for %.0f s", seconds) : "")));
        }
        assertThat(last).as("the pause reached the warning").isEqualTo(Severity.WARNING);
        // Replay resumed: WAL still waits, but replay advanced in this poll, so the count starts again.
        Receiver resumed = polls.get(poll).get(Receiver.class);
        assertThat(resumed.replayLagBytes()).isPositive();
        assertThat(verdicts.get(poll)).containsExactly(Evaluation.measured("self", 0, null, 1, String.format(Locale.ROOT,
                "this standby is 0.0 s behind: %.1f MiB received but not yet replayed", resumed.replayLagBytes() / 1048576.0)));
    }

    /** The primary stops: no receiver runs; the time since is pgvigil's own measure, from its poll times. */
    @Test
    void aStandbyWhoseReceiverStoppedIsLaggingByTheTimeSinceAndCriticalAfterThreeSeconds() {
        List<Poll> polls = Recordings.polls(STALLED, 18);
        List<List<Evaluation>> verdicts = judge(lag(), polls);
        assertThat(polls.get(0).get(Receiver.class).streaming()).isTrue();
        assertThat(verdicts.get(0)).singleElement().satisfies(e -> assertThat(e.severity()).isNull());
        Instant stopped = polls.get(1).snapshot().at();
        for (int poll = 1; poll < polls.size(); poll++) {
            Receiver r = polls.get(poll).get(Receiver.class);
            assertThat(r.status()).isNull();
            double seconds = Duration.between(stopped, polls.get(poll).snapshot().at()).toNanos() / 1e9;
            Severity severity = seconds >= 3 ? Severity.CRITICAL : seconds >= 1 ? Severity.WARNING : null;
            assertThat(verdicts.get(poll)).as("poll %d", poll + 1).containsExactly(Evaluation.measured("self", seconds,
                    severity, severity == Severity.CRITICAL ? 3 : 1, String.format(Locale.ROOT,
                            "the WAL receiver is not streaming (status: no receiver running) for %.0f s: this standby"
                                    + " receives nothing from the primary, so its lag is unknown and growing; %.1f MiB"
                                    + " received but not replayed", seconds, r.replayLagBytes() / 1048576.0)));
        }
        assertThat(verdicts.get(polls.size() - 1).get(0).severity()).isEqualTo(Severity.CRITICAL);
    }
}
