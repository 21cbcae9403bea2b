package io.pgvigil.statements;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.FindingTracker;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code slow_query} on StatementsMatrixTest's recording (PostgreSQL 18): {@code SELECT pg_sleep($1)}
 * run for 1 ms before the first poll, 150 ms before the second, 1.05 s before the third; then a
 * statement that stops running, which pg_stat_statements keeps: every later poll sees the third
 * poll's counters again (the third poll copied at later times, 15 s apart).
 */
class StatementHoldTest {

    static final String SLEEP = "StatementsMatrixTest.pgSleepOpensSlowQueryWarningThenCritical";
    static final String TEXT = "SELECT pg_sleep($1)";

    private final List<Poll> polls = Recordings.polls(SLEEP, 18).subList(0, 3);
    private final String subject = Long.toString(polls.get(1).queryid(TEXT));

    @Test
    void theMeanOfTheIntervalOpensAWarningThenACritical() {
        List<List<Evaluation>> verdicts = judge(check("slow_query"), polls);
        assertThat(on(subject, verdicts.get(0))).as("no window yet").isEqualTo(Evaluation.held(subject));
        for (int window = 1; window <= 2; window++) {
            double mean = polls.get(window).statement(Long.parseLong(subject)).execSeconds()
                    - polls.get(window - 1).statement(Long.parseLong(subject)).execSeconds();
            Evaluation e = on(subject, verdicts.get(window));
            assertThat(e.value()).isEqualTo(mean);
            assertThat(e.severity()).isEqualTo(window == 1 ? Severity.WARNING : Severity.CRITICAL);
            assertThat(e.threshold()).isEqualTo(window == 1 ? 0.1 : 1.0);
            assertThat(e.message()).isEqualTo(String.format(Locale.ROOT, "mean %.0f ms over 1 call(s) in the last %s s in"
                    + " database slow: SELECT pg_sleep($1)", mean * 1000, NPlusOneCheckTest.seconds(polls, window)));
        }
        assertThat(on(subject, verdicts.get(1)).value()).isBetween(0.15, 0.5);
        assertThat(on(subject, verdicts.get(2)).value()).isGreaterThan(1.05);
    }

    @Test
    void aStatementThatStopsRunningIsHeldForTwentyIntervalsThenCleared() {
        Check check = check("slow_query");
        FindingTracker tracker = new FindingTracker();
        List<Poll> run = new ArrayList<>(polls);
        Instant last = polls.get(2).snapshot().at();
        for (int i = 1; i <= 21; i++) {
            run.add(polls.get(2).at(last.plus(Duration.ofSeconds(15L * i))));
        }
        List<List<Evaluation>> verdicts = judge(check, run);
        List<Finding> open = new ArrayList<>();
        for (int i = 0; i < run.size(); i++) {
            tracker.apply(check, verdicts.get(i), run.get(i).snapshot().at());
            open.add(tracker.open().stream().filter(f -> f.subject().equals(subject)).findFirst().orElse(null));
        }
        Finding critical = open.get(2);
        assertThat(critical.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(critical.since()).isEqualTo(polls.get(1).snapshot().at());
        for (int held = 1; held <= 20; held++) {
            assertThat(on(subject, verdicts.get(2 + held))).isEqualTo(Evaluation.held(subject));
            assertThat(open.get(2 + held)).as("held interval %d", held).isEqualTo(critical);
        }
        assertThat(on(subject, verdicts.get(23))).isEqualTo(Evaluation.held(subject));
        assertThat(open.get(23)).as("the 21st interval without a measurement").isNull();
    }

    @Test
    void onlyTheStatementThatRanIsMeasuredEveryOtherEntryIsHeld() {
        List<Evaluation> window = judge(check("slow_query"), polls).get(1);
        // One verdict per queryid: the same statement in two databases or run by two roles is one subject.
        long queryids = polls.get(1).get(StatStatementsCollector.Statements.class).entries().stream()
                .map(StatStatementsCollector.Statement::queryid).distinct().count();
        assertThat(window).filteredOn(e -> !e.hold()).extracting(Evaluation::subject).containsExactly(subject);
        assertThat(window).filteredOn(Evaluation::hold).hasSize((int) queryids - 1)
                .allSatisfy(e -> assertThat(e).isEqualTo(Evaluation.held(e.subject())));
    }
}
