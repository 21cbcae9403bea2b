package io.pgvigil.databases;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.ToLongFunction;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.databases.StatDatabaseCollector.Database;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code rollback_rate} on pg_stat_database as CoreChecksMatrixTest recorded it (PostgreSQL 18): 10
 * commits and 20 rollbacks in database storm before the second poll, 25 and 5 before the third,
 * nothing before the fourth.
 */
class RollbackRateCheckTest {

    static final String STORM = "CoreChecksMatrixTest.rollbackStormOpensRollbackRateFinding";

    private final List<Poll> polls = Recordings.polls(STORM, 18);
    private final List<List<Evaluation>> verdicts = judge(check("rollback_rate"), polls);

    @Test
    void aRollbackStormIntervalIsCritical() {
        long rollbacks = delta(1, Database::xactRollback);
        long transactions = rollbacks + delta(1, Database::xactCommit);
        assertThat(rollbacks).isEqualTo(20);
        // 10 commits, plus the few that a backend's start-up and shutdown count.
        assertThat(transactions).isBetween(30L, 33L);
        double ratio = (double) rollbacks / transactions;
        assertThat(on("storm", verdicts.get(1))).isEqualTo(Evaluation.measured("storm", ratio, Severity.CRITICAL, 0.25,
                String.format(Locale.ROOT, "20 of %d transactions (%.0f%%) rolled back in database storm in the last %.0f s"
                        + " (deadlocks: 0)", transactions, ratio * 100, seconds(1))));
    }

    @Test
    void aMildIntervalIsAWarning() {
        long rollbacks = delta(2, Database::xactRollback);
        long transactions = rollbacks + delta(2, Database::xactCommit);
        assertThat(rollbacks).isEqualTo(5);
        Evaluation e = on("storm", verdicts.get(2));
        assertThat(e.value()).isEqualTo((double) rollbacks / transactions);
        assertThat(e.severity()).isEqualTo(Severity.WARNING);
        assertThat(e.threshold()).isEqualTo(0.1);
    }

    @Test
    void aQuietIntervalBelowMinTransactionsIsNotJudged() {
        assertThat(delta(3, Database::xactCommit) + delta(3, Database::xactRollback)).isLessThan(20);
        assertThat(verdicts.get(3)).noneMatch(e -> e.subject().equals("storm"));
    }

    @Test
    void theFirstPollHasNoBaselineAndHoldsEveryDatabase() {
        assertThat(verdicts.get(0)).containsExactlyInAnyOrderElementsOf(polls.get(0).get(DatabaseStats.class).databases()
                .stream().map(d -> Evaluation.held(d.datname())).toList());
    }

    private long delta(int window, ToLongFunction<Database> counter) {
        return counter.applyAsLong(storm(polls.get(window))) - counter.applyAsLong(storm(polls.get(window - 1)));
    }

    private static Database storm(Poll poll) {
        return poll.get(DatabaseStats.class).databases().stream().filter(d -> d.datname().equals("storm")).findFirst()
                .orElseThrow();
    }

    private double seconds(int window) {
        return Duration.between(polls.get(window - 1).snapshot().at(), polls.get(window).snapshot().at())
                .toNanos() / 1e9;
    }
}
