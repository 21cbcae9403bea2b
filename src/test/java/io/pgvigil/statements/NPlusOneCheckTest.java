package io.pgvigil.statements;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Window;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code n_plus_one} as a check, on pg_stat_statements as StatementsMatrixTest recorded it on
 * PostgreSQL 18 and 13 (extension 1.8: no toplevel, no stats_since), seen 15 s apart (a window of
 * 2 minutes): the loop matched once the window holds two intervals and opened once matched at most
 * of the polls that judged it, its value the avoidable round trips per second,
 * the pair kept open for a window after its last match and then cleared, a child that no longer runs
 * held. The matching itself is NPlusOneMatcherTest's, on recorded ORM traffic.
 */
class NPlusOneCheckTest {

    static final String N_PLUS_ONE = "StatementsMatrixTest.nPlusOneIsFlaggedNamingParentAndChildWithItsAvoidableRoundTrips";
    static final String JOIN = "StatementsMatrixTest.theSameDataReadWithAJoinOrAnyIsNotFlagged";

    static final String POSTS = "SELECT id, title FROM posts WHERE user_id = $1";
    static final String USERS = "SELECT id FROM users ORDER BY id LIMIT $1";
    static final Duration INTERVAL = Duration.ofSeconds(15);

    /**
     * The recording: the loop (100 users, then posts per user) before the first poll and before each
     * of the next six, nothing before the eighth, one posts lookup alone before each of the last four.
     * At 15 s the window is 2 minutes (eight polls). Matched from the second interval (two to compare:
     * the child's calls are flat, one parent in the tight band), judged from the sixth (a window of six
     * intervals), open once matched at 80 % of the polls that judged it over three of them.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void aLoopOpensOnceMatchedAtMostOfThePollsThatJudgedItWithItsAvoidableRoundTripsPerSecond(int major) {
        List<Poll> polls = Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL);
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        String parent = Long.toString(polls.get(1).queryid(USERS));

        assertThat(verdicts.get(0)).as("no window yet: every statement held").allSatisfy(e -> assertThat(e.hold()).isTrue());
        assertThat(on(child, verdicts.get(1))).as("one interval has no halves to compare")
                .isEqualTo(Evaluation.measured(child, 0, null, 0.1, "no N+1 pattern in the last 2m"));
        for (int poll = 2; poll <= 7; poll++) {
            Evaluation e = on(child, verdicts.get(poll));
            int loops = Math.min(poll, 6);
            long calls = 100L * loops;
            double seconds = 15.0 * poll;
            assertThat(e.value()).as("poll %d", poll).isEqualTo((calls - loops) / seconds);
            assertThat(e.threshold()).isEqualTo(0.1);
            assertThat(e.severity()).as("poll %d", poll).isNull();
            assertThat(e.message()).startsWith(String.format(Locale.ROOT,
                    "N+1 in database shop: statement %s ran %d times in the last %.0f s (%s per second, ", child, calls,
                    seconds, NPlusOneCheck.oneDecimal(calls / seconds))).contains(String.format(Locale.ROOT,
                            "of execution), once per row of statement %s (%d rows in %d call(s); 100.0 child calls per parent"
                                    + " call); one query per parent call, with a JOIN or IN (...) / = ANY($1), would have saved"
                                    + " %d round trips (%s per second). Child: %s | Parent: %s",
                            parent, calls, loops, calls - loops, NPlusOneCheck.oneDecimal((calls - loops) / seconds), POSTS, USERS));
            if (poll < 6) {
                assertThat(e.message()).endsWith(" (not judged yet: the window holds fewer than 6 intervals)");
            } else {
                assertThat(e.message()).endsWith(String.format(Locale.ROOT, " (matched at %d of the %d polls that judged it in"
                        + " the last 2m; opens once matched at 80 %% of them, judged over 3 polls)", poll - 5, poll - 5));
            }
            assertThat(on(parent, verdicts.get(poll)))
                    .isEqualTo(Evaluation.measured(parent, 0, null, 0.1, "no N+1 pattern in the last 2m"));
        }
        Evaluation open = on(child, verdicts.get(8));
        assertThat(open.severity()).as("judged at three polls, matched at all").isEqualTo(Severity.WARNING);
        long lookups = polls.get(8).statement(Long.parseLong(child)).calls() - polls.get(7).statement(Long.parseLong(child)).calls();
        assertThat(open.value()).isEqualTo((600 + lookups - 6) / 120.0);
        assertThat(verdicts.get(8)).filteredOn(x -> x.severity() != null).extracting(Evaluation::subject).containsExactly(child);
    }

    /**
     * After the loop stops, the child runs alone (a lookup per poll): the window still holds the loop
     * for a while, then the pattern no longer holds, and the finding stays as it was until a whole
     * window (2 minutes) has passed since the last match; after that the child is measured at 0, and
     * once it has not run for a whole window, held.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void aPairStaysOpenForAWindowAfterItsLastMatchThenIsMeasuredCleanThenHeld(int major) {
        List<Poll> polls = new ArrayList<>(Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL));
        long child = polls.get(1).queryid(POSTS);
        String subject = Long.toString(child);
        for (int i = 0; i < 8; i++) { // the lookup alone goes on, once per poll
            polls.add(Recordings.ran(polls.get(polls.size() - 1), child, 1, 3, INTERVAL));
        }
        Poll last = polls.get(polls.size() - 1);
        polls.add(last.at(last.snapshot().at().plus(Duration.ofMinutes(2))));
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);

        int lastMatch = 0;
        for (int poll = 0; poll < polls.size(); poll++) {
            Evaluation e = on(subject, verdicts.get(poll));
            if (e.severity() != null && !e.message().contains("(last matched")) {
                lastMatch = poll;
            }
        }
        assertThat(lastMatch).as("the window holds the loop in both halves until the ninth poll").isEqualTo(9);
        Evaluation matched = on(subject, verdicts.get(lastMatch));
        for (int poll = lastMatch + 1; poll < lastMatch + 8; poll++) {
            Evaluation e = on(subject, verdicts.get(poll));
            assertThat(e.value()).as("kept as last matched, poll %d", poll).isEqualTo(matched.value());
            assertThat(e.severity()).isEqualTo(Severity.WARNING);
            assertThat(e.message()).isEqualTo(matched.message() + " (last matched " + 15 * (poll - lastMatch)
                    + " s ago; open until a 2m window passes without it)");
        }
        assertThat(on(subject, verdicts.get(lastMatch + 8)))
                .isEqualTo(Evaluation.measured(subject, 0, null, 0.1, "no N+1 pattern in the last 2m"));
        assertThat(on(subject, verdicts.get(polls.size() - 1))).as("not run for a whole window").isEqualTo(Evaluation.held(subject));
    }

    /**
     * The loop, open, then paused for longer than a window (six polls in which nothing runs): the finding
     * is never judged clean while the child does not run — its clock stops, and it is held — so a loop
     * that comes back is the same incident, and one that never does clears once, at the hold limit.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void aPausedLoopIsHeldNotJudgedClean(int major) {
        List<Poll> polls = new ArrayList<>(Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL).subList(0, 7));
        Poll stopped = polls.get(6);
        for (int i = 1; i <= 10; i++) {
            polls.add(stopped.at(stopped.snapshot().at().plus(INTERVAL.multipliedBy(i))));
        }
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        assertThat(on(child, verdicts.get(8)).severity()).as("open: the window still holds the loop in both halves")
                .isEqualTo(Severity.WARNING);
        for (int poll = 9; poll < polls.size(); poll++) {
            Evaluation e = on(child, verdicts.get(poll));
            assertThat(e.hold() || e.severity() == Severity.WARNING).as("poll %d: %s", poll, e).isTrue();
        }
        assertThat(on(child, verdicts.get(polls.size() - 1))).as("paused past a window").isEqualTo(Evaluation.held(child));
    }

    /**
     * The loop, open, then paused past the hold (the engine clears the finding after
     * {@value StatementChecks#MAX_HELD_INTERVALS} held intervals); then its child runs again alone, a
     * lookup a poll, without the loop. That is a new incident without the pattern, measured at 0, not the
     * old finding brought back as "last matched".
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void aLoopPausedPastTheHoldIsForgotten(int major) {
        List<Poll> polls = new ArrayList<>(Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL).subList(0, 7));
        long child = polls.get(1).queryid(POSTS);
        Poll stopped = polls.get(6);
        // The window still holds the loop for three polls after it stopped (matched, not held); then the hold.
        int pause = 3 + StatementChecks.MAX_HELD_INTERVALS + 2;
        for (int i = 1; i <= pause; i++) {
            polls.add(stopped.at(stopped.snapshot().at().plus(INTERVAL.multipliedBy(i))));
        }
        for (int i = 0; i < 3; i++) {
            polls.add(Recordings.ran(polls.get(polls.size() - 1), child, 1, 3, INTERVAL));
        }
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        String subject = Long.toString(child);
        assertThat(on(subject, verdicts.get(8)).severity()).as("open before the pause").isEqualTo(Severity.WARNING);
        assertThat(on(subject, verdicts.get(polls.size() - 4))).as("held to the end of the pause").isEqualTo(Evaluation.held(subject));
        for (int poll = polls.size() - 3; poll < polls.size(); poll++) {
            assertThat(on(subject, verdicts.get(poll)))
                    .as("poll %d, the child back alone after the hold", poll)
                    .isEqualTo(Evaluation.measured(subject, 0, null, 0.1, "no N+1 pattern in the last 2m"));
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void aChildBelowMinCallsInTheWindowIsNotAPair(int major) {
        List<Poll> polls = Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        List<List<Evaluation>> verdicts = judge(check("n_plus_one", "pgvigil.checks.n-plus-one.min-calls", "700"), polls);
        assertThat(verdicts).allSatisfy(v -> assertThat(on(child, v).severity()).as("at most 604 calls in a window").isNull());
        assertThat(verdicts).allSatisfy(v -> assertThat(on(child, v).message()).as("never matched").isIn(null,
                "no N+1 pattern in the last 2m"));
        verdicts = judge(check("n_plus_one", "pgvigil.checks.n-plus-one.min-calls", "600"), polls);
        assertThat(on(child, verdicts.get(8)).severity()).as("600 calls in the windows that judge it").isEqualTo(Severity.WARNING);
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = { 13, 18 })
    void criticalWhenTheAvoidableRoundTripsPerSecondReachTheThreshold(int major) {
        List<Poll> polls = Recordings.every(Recordings.polls(N_PLUS_ONE, major), INTERVAL);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        Evaluation e = on(child, judge(check("n_plus_one", "pgvigil.checks.n-plus-one.critical", "4.95"), polls).get(8));
        long lookups = polls.get(8).statement(Long.parseLong(child)).calls() - polls.get(7).statement(Long.parseLong(child)).calls();
        assertThat(e.value()).isEqualTo((594 + lookups) / 120.0);
        assertThat(e.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(e.threshold()).isEqualTo(4.95);
    }

    /** users joined to posts, then users and their posts with = ANY($1): the same rows, two statements. */
    @Test
    void theSameRowsReadWithAJoinOrAnyAreNotFlagged() {
        List<Poll> polls = Recordings.every(Recordings.polls(JOIN, 18), INTERVAL);
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        assertThat(Window.between(polls.get(0).snapshot(), polls.get(1).snapshot()).statements())
                .as("the statements ran").hasSize(3);
        assertThat(verdicts).allSatisfy(v -> assertThat(v).filteredOn(e -> e.severity() != null).isEmpty());
        String join = Long.toString(polls.get(1).queryid(
                "SELECT u.id, p.id, p.title FROM users u JOIN posts p ON p.user_id = u.id WHERE u.id <= $1"));
        assertThat(on(join, verdicts.get(polls.size() - 1)))
                .isEqualTo(Evaluation.measured(join, 0, null, 0.1, "no N+1 pattern in the last 2m"));
    }

    /** The window's length as the message prints it. */
    static String seconds(List<Poll> polls, int window) {
        return String.format(Locale.ROOT, "%.0f",
                Window.between(polls.get(window - 1).snapshot(), polls.get(window).snapshot()).seconds());
    }
}
