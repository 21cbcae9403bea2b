package io.pgvigil.checkpoints;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.checkpoints.CheckpointHistory.Reading;
import io.pgvigil.checkpoints.CheckpointHistory.Span;
import io.pgvigil.checkpoints.StatBgwriterCollector.Bgwriter;
import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpointer;
import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpoints;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.testing.TestConfig;

/**
 * The window arithmetic of {@code checkpoint_pressure} on readings of the kinds PostgreSQL produces,
 * and its rules for few checkpoints and for advice; CheckpointPressureMatrixTest covers real servers.
 */
class CheckpointHistoryTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration HOUR = Duration.ofHours(1);
    private static final long MIB = 1L << 20;

    private static Reading reading(long seconds, long checkpoints, long requested, long walMib, Double reset) {
        return new Reading(T0.plusSeconds(seconds), "checkpoints", checkpoints, requested, walMib * MIB, reset);
    }

    @Test
    void firstReadingHasNoSpanAndTheNextCoversTheTimeSinceIt() {
        CheckpointHistory h = new CheckpointHistory();
        assertThat(h.add(reading(0, 10, 2, 100, 5.0), HOUR)).isNull();
        Span s = h.add(reading(15, 14, 5, 200, 5.0), HOUR);
        assertThat(s).isEqualTo(new Span(15, 4, 3, 100 * MIB));
        assertThat(s.requestedShare()).isEqualTo(0.75);
    }

    @Test
    void readingsOlderThanTheWindowLeaveIt() {
        CheckpointHistory h = new CheckpointHistory();
        h.add(reading(0, 0, 0, 0, 5.0), HOUR);
        h.add(reading(60, 5, 5, 80, 5.0), HOUR); // a burst in the first minute
        h.add(reading(1800, 6, 5, 90, 5.0), HOUR);
        // 61 minutes in: the newest reading at least an hour old is the one after the burst.
        Span s = h.add(reading(3660, 8, 5, 100, 5.0), HOUR);
        assertThat(s).isEqualTo(new Span(3600, 3, 0, 20 * MIB));
        assertThat(h.size()).isEqualTo(3);
    }

    @Test
    void aResetOrACounterGoingBackwardsStartsTheHistoryAgain() {
        CheckpointHistory h = new CheckpointHistory();
        h.add(reading(0, 10, 2, 100, 5.0), HOUR);
        assertThat(h.add(reading(15, 1, 1, 110, 20.0), HOUR)).as("stats_reset changed").isNull();
        assertThat(h.add(reading(30, 3, 1, 120, 20.0), HOUR)).isEqualTo(new Span(15, 2, 0, 10 * MIB));
        assertThat(h.add(reading(45, 2, 1, 130, 20.0), HOUR)).as("a counter went backwards").isNull();
        Reading standby = new Reading(T0.plusSeconds(60), "restartpoints", 2, 1, 140 * MIB, 20.0);
        assertThat(h.add(standby, HOUR)).as("promoted or demoted").isNull();
        assertThat(h.size()).isEqualTo(1);
    }

    @Test
    void historyStaysBoundedWhateverThePollInterval() {
        CheckpointHistory h = new CheckpointHistory();
        for (int i = 0; i < 10_000; i++) {
            h.add(reading(i, i / 30, i / 60, i, 5.0), HOUR);
        }
        assertThat(h.size()).isLessThanOrEqualTo(CheckpointHistory.SLOTS + 2);
        Span s = h.add(reading(10_000, 10_000 / 30, 10_000 / 60, 10_000, 5.0), HOUR);
        assertThat(s.seconds()).isBetween(3600.0, 3600.0 + 15);
        assertThat(s.requested()).isBetween(60L, 61L);
    }

    @Test
    void whatCountsAsACheckpointFollowsTheVersionAndTheRole() {
        // 18 primary: num_done, so skipped timed checkpoints do not count.
        assertThat(Reading.of(T0, checkpointer(40, 6, 9L, 0L, 0L, 0L), false))
                .extracting(Reading::checkpoints, Reading::requested, Reading::source).containsExactly(9L, 6L, "checkpoints performed");
        // 17 primary: timed (skipped ones included) + requested.
        assertThat(Reading.of(T0, checkpointer(40, 6, null, 0L, 0L, 0L), false))
                .extracting(Reading::checkpoints, Reading::requested).containsExactly(46L, 6L);
        // 17+ standby: its restartpoints.
        assertThat(Reading.of(T0, checkpointer(0, 0, 0L, 12L, 4L, 10L), true))
                .extracting(Reading::checkpoints, Reading::requested, Reading::source).containsExactly(16L, 4L, "restartpoints");
        // 13-16 standby: the checkpoint counters hold its restartpoints.
        assertThat(Reading.of(T0, checkpointer(12, 4, null, null, null, null), true))
                .extracting(Reading::checkpoints, Reading::requested).containsExactly(16L, 4L);
        // 13-16 primary.
        assertThat(Reading.of(T0, checkpointer(12, 4, null, null, null, null), false))
                .extracting(Reading::checkpoints, Reading::requested, Reading::source).containsExactly(16L, 4L, "checkpoints");
    }

    @Test
    void fewCheckpointsAreNoJudgementHeldWhileOneWasRequestedAndZeroWhenNone() {
        CheckpointPressureCheck check = new CheckpointPressureCheck(TestConfig.of(Map.of()));
        assertThat(evaluate(check, 0, checkpointer(10, 2, null, null, null, null)).hold()).isTrue();
        // 2 requested of 2: below min-checkpoints (3): held, neither opened nor cleared.
        assertThat(evaluate(check, 15, checkpointer(10, 4, null, null, null, null)).hold()).isTrue();
        // A third, timed, and 64 MiB of WAL written (enough for the two requested: one per ~17 MiB):
        // 2 of 3 is judged and breaches.
        Evaluation e = evaluate(check, 30, withWal(checkpointer(11, 4, null, null, null, null), 164 * MIB));
        assertThat(e.value()).isEqualTo(2.0 / 3);
        assertThat(e.severity()).isEqualTo(Severity.WARNING);
        // An hour later, only timed checkpoints: 0, whatever their number.
        Evaluation idle = evaluate(check, 30 + 3600, withWal(checkpointer(12, 4, null, null, null, null), 164 * MIB));
        assertThat(idle.hold()).isFalse();
        assertThat(idle.value()).isZero();
        assertThat(idle.severity()).isNull();
        assertThat(idle.message()).startsWith("0 of 1 checkpoints in the last 1 h were requested (0%), 1 timed; max_wal_size is 32.0 MiB,"
                + " checkpoint_timeout 30 s; 0 bytes of WAL was written in that time.");
    }

    @Test
    void requestedCheckpointsThatTheWalCannotExplainOpenNothing() {
        CheckpointPressureCheck check = new CheckpointPressureCheck(TestConfig.of(Map.of()));
        evaluate(check, 0, checkpointer(10, 0, null, null, null, null));
        // Three CHECKPOINT commands (or CREATE DATABASE, a restart) with 37 kiB of WAL: 3 of 3 requested,
        // but WAL explains one at most, so the value is 1/3 and max_wal_size is not blamed.
        Evaluation e = evaluate(check, 15, withWal(checkpointer(10, 3, null, null, null, null), 100 * MIB + 37 * 1024));
        assertThat(e.value()).isEqualTo(1.0 / 3);
        assertThat(e.severity()).isNull();
        assertThat(e.message()).contains("3 of 3 checkpoints in the last 15 s were requested (100%)",
                "the other 2 were requested another way").doesNotContain("raise max_wal_size");
    }

    @Test
    void adviceIsCheckedAgainstTheWalWritten() {
        Checkpointer c = new Checkpointer(checkpoints(0, 0, null, null, null, null), bgwriter(), 0L, 1L << 30, 300, 0.9);
        // 10 requested in an hour with 10 GiB of WAL: WAL volume. 10 GiB/h is 853 MiB per 5 min; × 1.9 = 1.6 GiB.
        String wal = CheckpointPressureCheck.advise(new Span(3600, 12, 10, 10L << 30), c, "checkpoints");
        assertThat(wal).startsWith("WAL volume forces checkpoints before checkpoint_timeout: raise max_wal_size")
                .contains("853.3 MiB of WAL is written per checkpoint_timeout, so max_wal_size should be at least 1.6 GiB");
        // 10 requested with 50 MiB of WAL: at most 1 of them can be WAL's (one per ~539 MiB); 1 of 12 is no pressure.
        Span manual = new Span(3600, 12, 10, 50 * MIB);
        assertThat(CheckpointPressureCheck.forcedByWal(manual, c)).isEqualTo(1);
        assertThat(CheckpointPressureCheck.otherCauses(manual, c, 1, "checkpoints"))
                .startsWith(". That WAL explains at most 1 requested checkpoints (one per about 538.9 MiB): the other 9 were")
                .contains("which raising max_wal_size would not prevent");
        assertThat(CheckpointPressureCheck.forcedByWal(new Span(3600, 12, 10, 10L << 30), c)).isEqualTo(10);
        assertThat(CheckpointPressureCheck.forcedByWal(new Span(3600, 12, 10, null), c)).isEqualTo(10);
        // Enough WAL for them, but an average rate that would fit: bursts.
        String bursts = CheckpointPressureCheck.advise(new Span(3600, 6, 4, 3L << 30), c, "restartpoints");
        assertThat(bursts).startsWith("WAL volume forces restartpoints before checkpoint_timeout")
                .contains("the WAL came in bursts").contains("e.g. to 2.0 GiB");
    }

    private static Evaluation evaluate(CheckpointPressureCheck check, long seconds, Checkpointer c) {
        ServerInfo server = new ServerInfo(160004, "16.4", false, 1000.0, Map.of(), 42, 8192, "", 10);
        Snapshot snapshot = new Snapshot(T0.plusSeconds(seconds), server, Map.of(Checkpointer.class, c));
        List<Evaluation> evaluations = check.evaluate(snapshot, Window.EMPTY).orElseThrow();
        assertThat(evaluations).hasSize(1);
        return evaluations.get(0);
    }

    private static Checkpointer withWal(Checkpointer c, long walPositionBytes) {
        return new Checkpointer(c.checkpoints(), c.bgwriter(), walPositionBytes, c.maxWalSizeBytes(),
                c.checkpointTimeoutSeconds(), c.checkpointCompletionTarget());
    }

    private static Checkpointer checkpointer(long timed, long requested, Long done, Long rpTimed, Long rpRequested,
            Long rpDone) {
        return new Checkpointer(checkpoints(timed, requested, done, rpTimed, rpRequested, rpDone), bgwriter(),
                100 * MIB, 32 * MIB, 30, 0.9);
    }

    private static Checkpoints checkpoints(long timed, long requested, Long done, Long rpTimed, Long rpRequested,
            Long rpDone) {
        return new Checkpoints(timed, requested, done, rpTimed, rpRequested, rpDone, 1.0, 0.1, 100, null, 5.0);
    }

    private static Bgwriter bgwriter() {
        return new Bgwriter(0, 0, 0, null, null);
    }
}
