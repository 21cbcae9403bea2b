package io.pgvigil.statements;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Window;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code n_plus_one} on pg_stat_statements as StatementsMatrixTest recorded it on PostgreSQL 18 and,
 * for the pair itself, 13 (extension 1.8: no toplevel, no stats_since): a child statement run once
 * per row of a parent, the pair found, counted and named; the same rows read with a JOIN or = ANY
 * found nothing.
 */
class NPlusOneCheckTest {

    static final String N_PLUS_ONE = "StatementsMatrixTest.nPlusOneIsFlaggedNamingParentAndChildThenCriticalAfterThreeWindows";
    static final String NESTED = "StatementsMatrixTest.nestedNPlusOneIsFlaggedAtEachLevel";
    static final String JOIN = "StatementsMatrixTest.theSameDataReadWithAJoinOrAnyIsNotFlagged";

    static final String POSTS = "SELECT id, title FROM posts WHERE user_id = $1";
    static final String USERS = "SELECT id FROM users ORDER BY id LIMIT $1";
    static final String PROJECTS = "SELECT id FROM projects ORDER BY id";
    static final String TASKS = "SELECT id FROM tasks WHERE project_id = $1";
    static final String COMMENTS = "SELECT id, body FROM comments WHERE task_id = $1";

    /**
     * The recording: the loop (100 users, then posts per user) before the first poll and before each
     * of the next three; on 18 also nothing before the fifth, one posts lookup alone before each of the
     * last three.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void childRunOncePerParentRowIsFlaggedWithItsParent(int major) {
        List<Poll> polls = Recordings.polls(N_PLUS_ONE, major);
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        String parent = Long.toString(polls.get(1).queryid(USERS));

        assertThat(verdicts.get(0)).as("no window yet: every statement held")
                .allSatisfy(e -> assertThat(e.hold()).isTrue());
        for (int window = 1; window <= 3; window++) {
            Evaluation e = on(child, verdicts.get(window));
            assertThat(e.value()).isEqualTo((double) window);
            assertThat(e.severity()).isEqualTo(window < 3 ? Severity.WARNING : Severity.CRITICAL);
            assertThat(e.threshold()).isEqualTo(window < 3 ? 1.0 : 3.0);
            assertThat(e.message()).isEqualTo("N+1 in database shop: statement " + child + " ran 100 times in the last "
                    + seconds(polls, window) + " s, once per row of statement " + parent + " (100 rows in 1 call(s));"
                    + " one query with a JOIN, or with IN (...) / = ANY($1), per parent call would have saved 99 calls"
                    + (window > 1 ? "; seen in " + window + " consecutive intervals" : "")
                    + ". Child: " + POSTS + " | Parent: " + USERS);
            // The parent ran once: it is judged as a child of nothing, and clean.
            assertThat(on(parent, verdicts.get(window)))
                    .isEqualTo(Evaluation.measured(parent, 0, null, 1, "no N+1 pattern in the last interval"));
            assertThat(verdicts.get(window)).filteredOn(x -> x.severity() != null).extracting(Evaluation::subject)
                    .containsExactly(child);
        }
    }

    @Test
    void anIntervalWithoutTheChildHoldsItsCountAndALoneLookupIsClean() {
        List<Poll> polls = Recordings.polls(N_PLUS_ONE, 18);
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        String child = Long.toString(polls.get(1).queryid(POSTS));
        String parent = Long.toString(polls.get(1).queryid(USERS));

        assertThat(on(child, verdicts.get(4))).isEqualTo(Evaluation.held(child));
        assertThat(on(parent, verdicts.get(4))).isEqualTo(Evaluation.held(parent));
        for (int window = 5; window < polls.size(); window++) {
            assertThat(on(child, verdicts.get(window)))
                    .isEqualTo(Evaluation.measured(child, 0, null, 1, "no N+1 pattern in the last interval"));
            assertThat(on(parent, verdicts.get(window))).isEqualTo(Evaluation.held(parent));
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void anIntervalWithoutTheChildDoesNotBreakTheCount(int major) {
        List<Poll> polls = Recordings.polls(N_PLUS_ONE, major);
        // Poll 3 seen again halfway to poll 4: an interval in which nothing ran, then the loop again.
        Instant halfway = polls.get(2).snapshot().at().plus(
                Duration.between(polls.get(2).snapshot().at(), polls.get(3).snapshot().at()).dividedBy(2));
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"),
                List.of(polls.get(0), polls.get(1), polls.get(2), polls.get(2).at(halfway), polls.get(3)));
        String child = Long.toString(polls.get(1).queryid(POSTS));
        assertThat(on(child, verdicts.get(2)).value()).isEqualTo(2.0);
        assertThat(on(child, verdicts.get(3))).isEqualTo(Evaluation.held(child));
        assertThat(on(child, verdicts.get(4)).value()).isEqualTo(3.0);
        assertThat(on(child, verdicts.get(4)).severity()).isEqualTo(Severity.CRITICAL);
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void theNarrowestBandStillHoldsAChildRunExactlyOncePerRow(int major) {
        List<Poll> polls = Recordings.polls(N_PLUS_ONE, major);
        Check exact = check("n_plus_one", "pgvigil.checks.n-plus-one.ratio-min", "1",
                "pgvigil.checks.n-plus-one.ratio-max", "1");
        String child = Long.toString(polls.get(1).queryid(POSTS));
        assertThat(on(child, judge(exact, polls.subList(0, 2)).get(1)).severity()).isEqualTo(Severity.WARNING);
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void aChildBelowMinCallsIsNotAPair(int major) {
        List<Poll> polls = Recordings.polls(N_PLUS_ONE, major);
        Check check = check("n_plus_one", "pgvigil.checks.n-plus-one.min-calls", "101");
        String child = Long.toString(polls.get(1).queryid(POSTS));
        assertThat(on(child, judge(check, polls.subList(0, 2)).get(1)))
                .isEqualTo(Evaluation.measured(child, 0, null, 1, "no N+1 pattern in the last interval"));
    }

    /**
     * projects (1 call, 100 rows) → tasks per project (100 calls, 300 rows) → comments per task (300
     * calls, 600 rows): tasks pairs with projects, comments with tasks. projects' 100 rows are also a
     * candidate for comments, at 3 calls per row: outside the default band [0.8, 1.25], and inside a band
     * widened to 3.5, where tasks (1 call per row) still wins as the closest.
     */
    @Test
    void nestedLoopsAreFlaggedAtEachLevelWithTheParentClosestToOneCallPerRow() {
        List<Poll> polls = Recordings.polls(NESTED, 18);
        String projects = Long.toString(polls.get(1).queryid(PROJECTS));
        String tasks = Long.toString(polls.get(1).queryid(TASKS));
        String comments = Long.toString(polls.get(1).queryid(COMMENTS));
        for (String ratioMax : List.of("1.25", "3.5")) {
            List<Evaluation> window = judge(check("n_plus_one", "pgvigil.checks.n-plus-one.ratio-max", ratioMax), polls)
                    .get(1);
            assertThat(window).as("ratio-max %s", ratioMax).filteredOn(e -> e.severity() != null)
                    .extracting(Evaluation::subject).containsExactlyInAnyOrder(tasks, comments);
            assertThat(on(tasks, window).message()).contains("statement " + tasks + " ran 100 times",
                    "once per row of statement " + projects + " (100 rows in 1 call(s))", "would have saved 99 calls",
                    "Child: " + TASKS + " | Parent: " + PROJECTS);
            assertThat(on(comments, window).message()).contains("statement " + comments + " ran 300 times",
                    "once per row of statement " + tasks + " (300 rows in 100 call(s))", "would have saved 200 calls",
                    "Child: " + COMMENTS + " | Parent: " + TASKS);
            assertThat(on(projects, window).severity()).isNull();
        }
    }

    /** users joined to posts, then users and their posts with = ANY($1): the same rows, two statements. */
    @Test
    void theSameRowsReadWithAJoinOrAnyAreNotFlagged() {
        List<Poll> polls = Recordings.polls(JOIN, 18);
        List<List<Evaluation>> verdicts = judge(check("n_plus_one"), polls);
        assertThat(Window.between(polls.get(0).snapshot(), polls.get(1).snapshot()).statements())
                .as("the statements ran").hasSize(3);
        assertThat(verdicts.get(1)).filteredOn(e -> e.severity() != null).isEmpty();
        String join = Long.toString(polls.get(1).queryid(
                "SELECT u.id, p.id, p.title FROM users u JOIN posts p ON p.user_id = u.id WHERE u.id <= $1"));
        assertThat(on(join, verdicts.get(1)))
                .isEqualTo(Evaluation.measured(join, 0, null, 1, "no N+1 pattern in the last interval"));
    }

    /** The window's length as the message prints it. */
    static String seconds(List<Poll> polls, int window) {
        return String.format(Locale.ROOT, "%.0f",
                Window.between(polls.get(window - 1).snapshot(), polls.get(window).snapshot()).seconds());
    }
}
