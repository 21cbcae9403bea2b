package io.pgvigil.statements;

import static io.pgvigil.statements.NPlusOneOrmMatrixTest.COMMENTS;
import static io.pgvigil.statements.NPlusOneOrmMatrixTest.CUSTOMERS;
import static io.pgvigil.statements.NPlusOneOrmMatrixTest.INVOICES;
import static io.pgvigil.statements.NPlusOneOrmMatrixTest.PURCHASES;
import static io.pgvigil.statements.NPlusOneOrmMatrixTest.TASKS;
import static io.pgvigil.statements.NPlusOneOrmMatrixTest.USER;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.statements.NPlusOneMatcher.Match;
import io.pgvigil.statements.NPlusOneMatcher.Parent;
import io.pgvigil.statements.NPlusOneOrmMatrixTest.Shape;
import io.pgvigil.statements.orm.IntervalRecording;
import io.pgvigil.statements.orm.IntervalRecording.Interval;

/**
 * The matcher alone, server-free, on interval deltas that NPlusOneOrmMatrixTest and
 * NPlusOnePgbenchTest recorded from real Hibernate and pgbench traffic (src/test/resources/recorded/
 * n_plus_one): every poll of a run replayed through a one-minute {@link NPlusOneHistory}, with the
 * default settings. Coincidental pairs are made by moving a statement of one recording into the
 * database of another: real series, unrelated timing.
 */
class NPlusOneMatcherTest {

    static final NPlusOneMatcher.Settings DEFAULTS = new NPlusOneMatcher.Settings(20, 3, 0.8, 0.1, 1.25);

    /**
     * Matches of every poll of a recording, after {@code edit} of each interval, over the window the
     * check would use at the recording's interval (a minute, at least eight polls: 2 minutes at 15 s).
     */
    static List<List<Match>> replay(List<Interval> polls, UnaryOperator<Interval> edit) {
        int interval = (int) Math.round(polls.get(Math.min(1, polls.size() - 1)).seconds());
        double window = Math.max(60, 8 * interval);
        NPlusOneHistory history = new NPlusOneHistory(window);
        NPlusOneMatcher matcher = new NPlusOneMatcher(DEFAULTS, (int) Math.round(window / interval));
        List<List<Match>> all = new ArrayList<>();
        for (Interval i : polls) {
            Interval e = edit.apply(i);
            history.add(e.end(), e.seconds(), e.deltas());
            all.add(matcher.match(history));
        }
        return all;
    }

    static String shapeOf(String text) {
        for (Shape s : List.of(CUSTOMERS, INVOICES, PURCHASES, USER, TASKS, COMMENTS)) {
            if (text != null && s.sql().matcher(text.toLowerCase()).find()) {
                return s.name();
            }
        }
        return text;
    }

    /** "database: child <- parent (share), ..." for each match of a poll. */
    static List<String> describe(List<Match> matches) {
        List<String> out = new ArrayList<>();
        for (Match m : matches) {
            StringBuilder sb = new StringBuilder(m.datname() + ": " + shapeOf(m.text()) + " <-");
            for (Parent p : m.parents()) {
                sb.append(String.format(java.util.Locale.ROOT, " %s (%.2f)", shapeOf(p.text()), p.share()));
            }
            out.add(sb.toString());
        }
        out.sort(null);
        return out;
    }

    /** The end (seconds since the first poll) of the first poll with a match, and the distinct descriptions. */
    static Map<String, Double> firstSeen(List<Interval> polls, List<List<Match>> matches) {
        Map<String, Double> first = new TreeMap<>();
        for (int i = 0; i < polls.size(); i++) {
            for (String d : describe(matches.get(i))) {
                first.putIfAbsent(d, polls.get(i).end());
            }
        }
        return first;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({ "list_page-15s-13", "list_page-15s-15", "list_page-15s-18", "list_page-2s-13", "list_page-2s-15",
            "list_page-2s-18" })
    void aLazyOneToManyPerRowMatchesItsListAtOneCallPerRowAndTheFixesNever(String recording) {
        List<Interval> polls = IntervalRecording.read(recording);
        Map<String, Double> first = firstSeen(polls, replay(polls, i -> i));
        assertThat(first.keySet()).containsExactly("list_n1: invoices of a customer <- customers (1.00)");
        assertThat(first.values()).allSatisfy(t -> assertThat(t).isLessThanOrEqualTo(124));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({ "identity_map-15s-13", "identity_map-15s-15", "identity_map-15s-18", "identity_map-2s-13",
            "identity_map-2s-15", "identity_map-2s-18" })
    void aLazyManyToOneMatchesWellBelowOneCallPerRowThroughTheIdentityMap(String recording) {
        List<Interval> polls = IntervalRecording.read(recording);
        List<List<Match>> matches = replay(polls, i -> i);
        Map<String, Double> first = firstSeen(polls, matches);
        assertThat(first.keySet()).containsExactly("orders_n1: user by id <- purchases (1.00)");
        for (List<Match> poll : matches) {
            for (Match m : poll) {
                double perRow = (double) m.calls() / m.parents().get(0).rows();
                assertThat(perRow).as("distinct users per purchase row").isBetween(0.3, 0.6);
                assertThat(m.lookup()).isTrue();
            }
        }
    }

    /**
     * The dashboard, one request per 10 s: comments per task (once per row of the tasks), and the
     * user lookup that serves the assignee of each task and the author of each comment, named with
     * both parents in proportion to their rows: 6 tasks and 24 comments a request.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({ "dashboard-15s-13", "dashboard-15s-15", "dashboard-15s-18", "dashboard-2s-13", "dashboard-2s-15",
            "dashboard-2s-18" })
    void aSlowDashboardMatchesEachLevelAndTheSharedLookupWithBothParentsAndTheirShares(String recording) {
        List<Interval> polls = IntervalRecording.read(recording);
        Map<String, Double> first = firstSeen(polls, replay(polls, i -> i));
        assertThat(first.keySet()).containsExactlyInAnyOrder(
                "dashboard_n1: comments of a task <- tasks of a project (1.00)",
                "dashboard_n1: user by id <- comments of a task (0.80) tasks of a project (0.20)");
        assertThat(first.values()).allSatisfy(t -> assertThat(t).isLessThanOrEqualTo(130));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "pgbench-15s-15", "pgbench-2s-15" })
    void pgbenchMatchesNothing(String recording) {
        List<Interval> polls = IntervalRecording.read(recording);
        assertThat(polls).hasSizeGreaterThan(35);
        assertThat(replay(polls, i -> i)).allSatisfy(m -> assertThat(m).isEmpty());
    }

    /**
     * Two busy unrelated statements: the dashboard's user lookup (one request per 10 s) and the list
     * page's customer list (one per 4 s, 20 rows) in one database. By counts alone they fit (the
     * lookup's calls are 0.5-0.6 of the list's rows, 12 per list call, in both halves of every
     * window), but their timing does not: at 2 s the lookup runs in one interval of five, the list in
     * every other one.
     */
    @Test
    void aBusyListAndAnUnrelatedLookupInOneDatabaseDoNotPair() {
        List<Interval> polls = merged("dashboard-2s-15", USER, "list_page-2s-15", CUSTOMERS);
        Map<String, Double> first = firstSeen(polls, replay(polls, i -> i));
        assertThat(first.keySet()).isEmpty();
    }

    /**
     * Steady unrelated traffic, the shape of a web application's busy endpoints: an auth lookup (one row
     * a call) run by every request, next to a list endpoint (50 rows a call) that is one of those
     * requests. Both run at steady rates with the noise of independent arrivals (Poisson counts per
     * interval, seeded). By counts they fit a loop (the lookup's calls are {@code perRow} of the list's
     * rows, 25-50 calls per list call, in both halves of every window), but the lookup's calls do not
     * follow the list's rows interval by interval: never a match, at 15 s and at 2 s, over 10 minutes.
     * At a ratio in the loose band (an identity map's 0.5) timing must prove the pair; in the tight band
     * (1.0), a lookup whose calls vary as these do must follow the rows too.
     */
    @ParameterizedTest(name = "{0} s interval, {1} lookup calls per list row")
    @CsvSource({ "15, 0.5", "2, 0.5", "2, 1.0" })
    void steadyUnrelatedTrafficWithALoopsCountsNeverMatches(int interval, double perRow) {
        java.util.Random random = new java.util.Random(15);
        double listCallsPerSecond = 0.4;
        double otherRequestsPerSecond = listCallsPerSecond * 50 * perRow - listCallsPerSecond;
        List<Interval> polls = new ArrayList<>();
        for (int p = 1; p <= 600 / interval; p++) {
            long lists = poisson(random, listCallsPerSecond * interval);
            long lookups = lists + poisson(random, otherRequestsPerSecond * interval);
            polls.add(new Interval(p * (double) interval, interval, List.of(
                    new NPlusOneHistory.Delta(16384, "web", 1, "SELECT id, name FROM users WHERE id = $1", lookups, lookups, 0.0001 * lookups),
                    new NPlusOneHistory.Delta(16384, "web", 2, "SELECT id, title FROM posts ORDER BY id DESC LIMIT $1", lists, lists * 50,
                            0.001 * lists))));
        }
        List<List<Match>> matches = replay(polls, i -> i);
        assertThat(firstSeen(polls, matches)).isEmpty();
        // The counts alone do fit: the same series with the lookup following the list's rows is a loop.
        List<Interval> loop = polls.stream().map(i -> {
            NPlusOneHistory.Delta list = i.deltas().get(1);
            long calls = Math.round(list.rows() * perRow);
            return new Interval(i.end(), i.seconds(), List.of(new NPlusOneHistory.Delta(16384, "web", 1,
                    "SELECT id, name FROM users WHERE id = $1", calls, calls, 0.0001 * calls), list));
        }).toList();
        // From the first judged poll: 6 intervals at 15 s, 6 blocks of 8 s (24 intervals) at 2 s, before which
        // nothing matches at short intervals.
        int judged = interval < 8 ? 24 : 10;
        assertThat(replay(loop, i -> i).subList(judged, loop.size())).allSatisfy(m -> assertThat(m).hasSize(1));
    }

    /**
     * The list page at 2 s with its child gone for five intervals (10 s) while the list goes on: while
     * the gap is in the window the list's rows ran without their loop, the child's calls fell behind
     * them by five intervals' worth and do not keep pace, so the judged polls miss (from the end of the
     * gap at the latest); the poll after most of the gap has left the window matches again with those
     * misses still counted against the pair (not open yet), rather than starting over as a run of
     * matches would.
     */
    @Test
    void missedPollsCountAgainstThePairInsteadOfStartingItOver() {
        List<Interval> polls = IntervalRecording.read("list_page-2s-15");
        java.util.Set<Double> gap = new java.util.HashSet<>();
        polls.subList(21, 26).forEach(i -> gap.add(i.end()));
        List<List<Match>> matches = replay(polls, i -> !gap.contains(i.end()) ? i
                : new Interval(i.end(), i.seconds(), i.deltas().stream()
                        .filter(d -> !(d.datname().equals("list_n1") && INVOICES.name().equals(shapeOf(d.text())))).toList()));
        int back = java.util.stream.IntStream.range(26, matches.size()).filter(p -> !matches.get(p).isEmpty()).findFirst()
                .orElseThrow();
        assertThat(back).as("back once most of the gap (intervals 21-25) left the 30-interval window").isBetween(48, 58);
        for (int poll = 26; poll < back; poll++) {
            assertThat(describe(matches.get(poll))).as("poll %d", poll).isEmpty();
        }
        Match after = matches.get(back).get(0);
        assertThat(after.judged() - after.matched()).as("the misses of the last window, still counted").isGreaterThanOrEqualTo(20);
        assertThat((double) after.matched()).as("not a run starting over").isLessThan(0.8 * after.judged());
        assertThat(after.judgedFor()).isEqualTo(after.judged() - 1);
    }

    /** A Poisson count of mean {@code mean} (Knuth's method for small means, the normal approximation above 50). */
    static long poisson(java.util.Random random, double mean) {
        if (mean > 50) {
            return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.nextGaussian()));
        }
        double limit = Math.exp(-mean);
        double product = random.nextDouble();
        long k = 0;
        while (product > limit) {
            product *= random.nextDouble();
            k++;
        }
        return k;
    }

    /**
     * The same list moved into the dashboard's database: the lookup still names only its own loops, never
     * the list. (With the list among its candidates the lookup is named at some poll with its main parent
     * alone, the comments, whose rows it keeps pace with: incomplete, not wrong.)
     */
    @Test
    void anUnrelatedListIsNotNamedAmongTheParentsOfASharedLookup() {
        List<Interval> dashboard = IntervalRecording.read("dashboard-2s-15");
        List<Interval> polls = merged("dashboard-2s-15", null, "list_page-2s-15", CUSTOMERS);
        Map<String, Double> first = firstSeen(polls, replay(polls, i -> i));
        assertThat(first.keySet()).containsAll(firstSeen(dashboard, replay(dashboard, i -> i)).keySet());
        assertThat(first.keySet()).allSatisfy(k -> assertThat(k).doesNotContain(CUSTOMERS.name()))
                .isSubsetOf("dashboard_n1: comments of a task <- tasks of a project (1.00)",
                        "dashboard_n1: user by id <- comments of a task (0.80) tasks of a project (0.20)",
                        "dashboard_n1: user by id <- comments of a task (1.00)");
    }

    /**
     * The list page's child as if it were a write per row (an ORM flushing one entity at a time):
     * JDBC batching sends as many calls in fewer round trips, which pg_stat_statements cannot tell, so
     * writes are never children.
     */
    @Test
    void aWritePerRowOfAListIsNotALoop() {
        List<Interval> polls = IntervalRecording.read("list_page-2s-15");
        List<List<Match>> matches = replay(polls, i -> new Interval(i.end(), i.seconds(), i.deltas().stream()
                .map(d -> INVOICES.name().equals(shapeOf(d.text()))
                        ? new NPlusOneHistory.Delta(d.dbid(), d.datname(), d.queryid(),
                                "INSERT INTO invoice_audit (customer_id) VALUES ($1) RETURNING id, customer_id, at",
                                d.calls(), d.rows(), d.execSeconds())
                        : d)
                .toList()));
        assertThat(firstSeen(polls, matches).keySet()).isEmpty();
        assertThat(firstSeen(polls, replay(polls, i -> i)).keySet()).as("the same counts as a read").hasSize(1);
    }

    /**
     * The statements of {@code a} in its N+1 database (only {@code keep} when given) with {@code moved}
     * of {@code b}'s N+1 database relabelled into it, poll by poll (both recordings poll every 2 s from
     * the start of their traffic).
     */
    static List<Interval> merged(String a, Shape keep, String b, Shape moved) {
        List<Interval> first = IntervalRecording.read(a);
        List<Interval> second = IntervalRecording.read(b);
        List<Interval> out = new ArrayList<>();
        for (int i = 0; i < Math.min(first.size(), second.size()); i++) {
            Interval x = first.get(i);
            List<NPlusOneHistory.Delta> deltas = new ArrayList<>();
            long dbid = 0;
            String datname = null;
            for (NPlusOneHistory.Delta d : x.deltas()) {
                if (d.datname().endsWith("_n1") && (keep == null || keep.name().equals(shapeOf(d.text())))) {
                    deltas.add(d);
                }
            }
            for (NPlusOneHistory.Delta d : first.stream().flatMap(p -> p.deltas().stream()).toList()) {
                if (d.datname().endsWith("_n1")) {
                    dbid = d.dbid();
                    datname = d.datname();
                    break;
                }
            }
            for (NPlusOneHistory.Delta d : second.get(i).deltas()) {
                if (d.datname().endsWith("_n1") && moved.name().equals(shapeOf(d.text()))) {
                    deltas.add(new NPlusOneHistory.Delta(dbid, datname, d.queryid(), d.text(), d.calls(), d.rows(),
                            d.execSeconds()));
                }
            }
            out.add(new Interval(x.end(), x.seconds(), deltas));
        }
        return out;
    }
}
