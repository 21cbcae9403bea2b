package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import io.pgvigil.statements.NPlusOneHistory.Series;

/**
 * Finds N+1 loops in an {@link NPlusOneHistory}: per database, over the window's sums, a child
 * statement that runs many times per call of one or more parent statements, each of which returned a
 * list (at least two rows per call). Two shapes:
 * <ul>
 * <li>one-to-many ("once per row": the child returns any number of rows per call): child calls within
 * [{@code ratio-min}, {@code ratio-max}] × one parent's rows; among several parents the ratio
 * closest to 1 wins;</li>
 * <li>lookup (the child returns at most one row per call, a find-by-id): child calls within
 * [{@code lookup-ratio-min}, {@code ratio-max}] × the rows of the parents together (an ORM's
 * identity map fetches each distinct key once, so calls may be well below rows), and a lookup shared
 * by several loops names each parent with its share of the calls (in proportion to its rows, each
 * parent at least {@value #MIN_SHARE} of them).</li>
 * </ul>
 * Children and parents are reads (SELECT, WITH, VALUES, TABLE): a write per row is as many calls
 * with or without JDBC batching. Every parent runs fewer times than the child, with at least {@code min-fan-out} child calls per
 * parent call, and the child has {@code min-calls} calls in the window. What tells a loop from two
 * busy statements whose totals happen to match is stability and timing: the window is cut into two
 * halves by time, and in each half every parent and the child ran, and child calls per parent row
 * (and, for one parent, child calls per parent call) stay within a factor of {@value #STABILITY} of
 * the window's. Timing is judged two ways:
 * <ul>
 * <li>pace ({@link #keepsPace}, one parent): a loop's children run after their parent's rows, so the
 * child's calls so far, less the ratio times the parent's rows so far, only swing by the children of
 * the requests in flight at a poll ({@value #PACE} parent calls' worth, more under concurrency)
 * however a request's children split between polls; two unrelated statements drift apart like a
 * random walk, and a step both share (a deploy, traffic starting) does not bring them back. Every
 * single-parent match must keep pace;</li>
 * <li>fit ({@link Moments#fit}): the child's calls per block (adjacent intervals summed to span at
 * least {@value #BLOCK_SECONDS} s, so that a request falls mostly inside one) follow the parents'
 * rows, in the same block or the next. A one-to-many child in a judged window needs pace only; before
 * that, and for a lookup's candidates, a flat child (coefficient of variation under {@value #FLAT}
 * over blocks) passes by counts, a varying one needs a fit of {@value #MIN_FIT}. A lookup below the
 * tight band (an identity map) needs {@value #MIN_EVIDENCE} blocks, both series varying and a fit of
 * {@value #MIN_FIT} with pace; several parents (a shared lookup, where pace cannot be told per
 * parent) a fit of {@value #STRONG_FIT} ({@value #STRONGER_FIT} over fewer than
 * {@value #SHORT_WINDOW} blocks).</li>
 * </ul>
 *
 * <p>Each match carries the tally of the polls of the last window that judged its child (see
 * {@link Match#judged()}): the check opens a pair matched at most of them.
 *
 * <p>Cost: parents are sorted by rows once per database, and each child finds its candidates by
 * binary search over that order; of those within its rows band, nearest first, the ones with enough
 * fan-out are looked at closely (at most twice {@value #MAX_CANDIDATES}, keeping
 * {@value #MAX_CANDIDATES}), scanning at most {@value #MAX_SCANNED}: O(n log n) for n statements, no
 * all-pairs loop. A child whose every fitted candidate was far off rests an eighth of a window.
 */
public final class NPlusOneMatcher {

    /** Least share of a lookup's calls that a parent must explain to be named. */
    static final double MIN_SHARE = 0.1;
    /** Largest factor between a half's ratio and the window's for the pattern to count as stable. */
    static final double STABILITY = 2.0;
    /** Most parents named for one child. */
    static final int MAX_PARENTS = 4;
    /**
     * A child whose calls per interval vary less than this (coefficient of variation) cannot tell a
     * parent by timing: only one parent in the tight band can explain it, by counts alone.
     */
    static final double FLAT = 0.25;
    /** Least share of the variance of the child's calls per interval that a parent's rows must explain. */
    static final double MIN_FIT = 0.5;
    /**
     * Fewest intervals in the window for timing to be evidence: a fit over fewer points is luck as often
     * as not, so before that only a flat child in the tight band with one parent matches.
     */
    static final int MIN_EVIDENCE = 6;
    /**
     * Least coefficient of variation, of the child's calls and of the parents' rows per interval, for a
     * fit to be evidence of a loose ratio or of several parents: two flat series fit anything.
     */
    static final double MIN_VARIATION = 0.05;
    /**
     * Least seconds of a block: the fits look at the window's intervals summed into blocks of adjacent
     * intervals spanning at least this long (at most {@code pollsPerWindow / MIN_EVIDENCE} intervals a
     * block, one at 15 s, four at 2 s), so that a request whose children spread over a few seconds
     * falls mostly inside one block whatever the poll interval: at 2 s its children straddle two to
     * five intervals with a split that varies from request to request, which no fit can follow.
     */
    static final double BLOCK_SECONDS = 8;
    /** Parent calls' worth of children that a single parent's loop may run ahead or behind (see #keepsPace). */
    static final double PACE = 2.5;
    /** Seconds of a round trip assumed per child call when estimating the requests in flight (see #keepsPace). */
    static final double ROUND_TRIP = 0.0005;
    /**
     * Least share of the variance of the child's calls (adjusted fit) that the parents' rows must
     * explain for a loose ratio or several parents; {@value #STRONGER_FIT} over fewer than
     * {@value #SHORT_WINDOW} intervals (2 minutes at 15 s), where among thousands of candidate pairs a
     * few fit 0.9 by chance.
     */
    static final double STRONG_FIT = 0.9;
    static final double STRONGER_FIT = 0.95;
    static final int SHORT_WINDOW = 12;
    /**
     * An adjusted fit below this is far off. A child whose every fitted candidate was far off is not
     * looked at for the next eighth of a window (at least {@value #REST_POLLS} polls: 2 at 15 s, 3 at
     * 2 s), whose windows share all but a few intervals with this one: on busy unrelated traffic the
     * fits were most of the matching's cost. It counts as judged without a match meanwhile; a loop that
     * starts then is at most that many polls late.
     */
    static final double FAR_OFF = 0;
    static final int REST_POLLS = 2;
    /** Most parents within the child's rows band scanned for candidates, whatever their fan-out. */
    static final int MAX_SCANNED = 256;
    /** Most candidate parents of a lookup looked at closely (the nearest in rows). */
    static final int MAX_CANDIDATES = 8;

    public record Settings(long minCalls, double minFanOut, double ratioMin, double lookupRatioMin, double ratioMax) {
    }

    /** A parent with its share (0-1) of the child's calls. */
    public record Parent(long queryid, String text, long calls, long rows, double share) {
    }

    /**
     * A child and its parents over {@code seconds} of window.
     *
     * @param lookup whether the child returns at most one row per call
     * @param judged how many of the last {@code pollsPerWindow} polls (this one included) judged the child
     * @param matched how many of those matched it (this one included)
     * @param judgedFor polls since the oldest of those (0: this one only)
     * @param kept whether only an open finding's counts matched at this poll ({@link #sustained}), not every test
     */
    public record Match(long dbid, String datname, long child, String text, long calls, long rows, double execSeconds,
            boolean lookup, List<Parent> parents, double seconds, int judged, int matched, int judgedFor, boolean kept) {

        public long parentCalls() {
            return parents.stream().mapToLong(Parent::calls).sum();
        }

        /** Round trips that one batched query per parent call would have saved. */
        public long avoidable() {
            return Math.max(0, calls - parentCalls());
        }

        public double avoidablePerSecond() {
            return seconds <= 0 ? 0 : avoidable() / seconds;
        }
    }

    private final Settings settings;
    /** Polls in a window: how far back {@link Match#judged()} and {@link Match#matched()} count. */
    private final int pollsPerWindow;
    /** Polls a child whose every fitted candidate was far off is left alone (see {@link #FAR_OFF}). */
    private final int restPolls;
    /** Numbers each call of {@link #match}, so that a series derives its halves and per-interval sums once per poll. */
    private int stamp;
    private double mid;
    private double[] ends;
    /** Whether the window holds {@link #MIN_EVIDENCE} blocks: timing can be evidence. */
    private boolean evidence;
    /** Intervals per block at this poll (see {@link #BLOCK_SECONDS}), and the most a window gives. */
    private int block;
    private final int blockTarget;
    private final double intervalSeconds;
    /** Whether blocks span several intervals (a poll interval under {@link #BLOCK_SECONDS}). */
    private boolean longBlocks;
    /** Seconds the window's intervals cover at this poll. */
    private double covered;
    /** Reused from poll to poll: one database's parents and their rows. */
    private final List<Series> parents = new ArrayList<>();
    private final List<Series> children = new ArrayList<>();
    private long[] rows = new long[64];
    /** The same parents' calls, in the same order: the candidate scans test fan-out without a visit to each series. */
    private long[] parentCalls = new long[64];
    /** Scratch for {@link #sortParents}. */
    private long[] order = new long[64];
    private Series[] sorted = new Series[64];
    /** Fits made for the child being matched, and how many of them were far off. */
    private int fitted;
    private int farOff;

    /** @param pollsPerWindow polls in a window, for the tally of each match (at least 1) */
    public NPlusOneMatcher(Settings settings, int pollsPerWindow) {
        this(settings, pollsPerWindow, Double.NaN);
    }

    /**
     * @param pollsPerWindow polls in a window, for the tally of each match (at least 1)
     * @param intervalSeconds the poll interval (NaN: taken from the history's intervals)
     */
    public NPlusOneMatcher(Settings settings, int pollsPerWindow, double intervalSeconds) {
        this.settings = settings;
        this.pollsPerWindow = Math.max(1, pollsPerWindow);
        this.restPolls = Math.max(REST_POLLS, this.pollsPerWindow / 8);
        this.intervalSeconds = intervalSeconds;
        this.blockTarget = Double.isNaN(intervalSeconds) ? 0 : blockSize(intervalSeconds, this.pollsPerWindow);
    }

    /** Intervals per block: spanning {@link #BLOCK_SECONDS}, leaving at least {@link #MIN_EVIDENCE} blocks a window. */
    static int blockSize(double intervalSeconds, int pollsPerWindow) {
        int k = (int) Math.ceil(BLOCK_SECONDS / intervalSeconds - 1e-9);
        return Math.max(1, Math.min(k, pollsPerWindow / MIN_EVIDENCE));
    }

    /** Every child in the history that matches a loop, one per (database, child). */
    public List<Match> match(NPlusOneHistory history) {
        return match(history, java.util.Map.of());
    }

    /**
     * Every child in the history that matches a loop, one per (database, child); a child with an open
     * finding ({@code open}, by child queryid: its last match) that no longer passes every test is kept
     * by {@link #sustained} when it still runs in proportion to the same parents.
     */
    public List<Match> match(NPlusOneHistory history, java.util.Map<Long, Match> open) {
        List<Match> matches = new ArrayList<>();
        if (history.intervals() < 2) {
            return matches; // one interval has no halves to compare
        }
        stamp++;
        mid = (history.start() + history.end()) / 2;
        ends = history.ends();
        int target = blockTarget > 0 ? blockTarget
                : blockSize(history.coveredSeconds() / history.intervals(), pollsPerWindow);
        block = Math.max(1, Math.min(target, history.intervals() / MIN_EVIDENCE));
        longBlocks = target > 1;
        // Judged (timing can be evidence) once the window holds MIN_EVIDENCE blocks of their full size.
        evidence = history.intervals() >= MIN_EVIDENCE * target;
        double seconds = history.coveredSeconds();
        covered = seconds;
        for (List<Series> statements : history.databases()) {
            parents.clear();
            children.clear();
            // One walk over the database's statements (each one a cache miss): its parents and its children.
            for (Series s : statements) {
                if (!s.read || s.removed) {
                    continue;
                }
                if (s.rows >= 2 * s.calls && s.calls > 0) {
                    parents.add(s);
                }
                if (s.calls >= settings.minCalls()) {
                    children.add(s);
                }
            }
            int count = parents.size();
            if (rows.length < count) {
                rows = new long[Math.max(count, rows.length * 2)];
                parentCalls = new long[rows.length];
                order = new long[rows.length];
                sorted = new Series[rows.length];
            }
            sortParents(count);
            for (Series child : children) {
                long[] halves = prepared(child).halves();
                if (halves[0] == 0 || halves[2] == 0) {
                    continue; // a child that ran in one half only cannot be stable
                }
                Match m = null;
                boolean resting = child.restUntil >= stamp;
                // Short intervals: nothing before the window holds its blocks (a few seconds of counts are no evidence).
                if (count > 0 && !resting && (evidence || !longBlocks)) {
                    fitted = 0;
                    farOff = 0;
                    m = child.rows <= child.calls ? lookup(child, halves, count, seconds) : oncePerRow(child, halves, count, seconds);
                    if (m == null && fitted > 0 && farOff == fitted) {
                        child.restUntil = stamp + restPolls; // every candidate far off: not looked at again for a while
                    }
                }
                if (evidence && !resting) {
                    m = tally(child, m); // judged: matched or not, it counts (a resting child is not judged)
                }
                if (m == null && !open.isEmpty()) {
                    Match last = open.get(child.key.queryid());
                    if (last != null && last.dbid() == child.key.dbid()) {
                        m = sustained(child, last, history, seconds);
                    }
                }
                if (m != null) {
                    matches.add(m);
                }
            }
        }
        return matches;
    }

    /**
     * Hysteresis for an open finding: the child still runs in proportion to the parents of its last
     * match, by counts alone, in the newer half of the window: every parent still returns lists and
     * returned rows there, the child made at least {@code min-fan-out} calls per parent call there, and
     * its calls per parent row there are in the band of its shape (tight for one-to-many, loose for a
     * lookup). Pace, fits and the halves' stability are not asked again: they opened the pair, and
     * requests that overlap (a burst of slow ones at one poll) or arrive unevenly (no dashboard for 30 s)
     * break them for a while without the loop having gone. Opening still needs them all, and the check
     * keeps a pair this way only for a few windows after its last full match (see
     * {@code NPlusOneCheck#SUSTAIN_WINDOWS}). A loop batched, cached or otherwise out of proportion
     * clears a window after its last match; a child that stopped is held, like every statement finding.
     */
    private Match sustained(Series child, Match last, NPlusOneHistory history, double seconds) {
        List<Series> set = new ArrayList<>(last.parents().size());
        for (Parent parent : last.parents()) {
            Series p = history.get(last.dbid(), parent.queryid());
            if (p == null || p.calls == 0 || p.rows < 2 * p.calls) {
                return null; // a parent that no longer ran, or no longer returns lists
            }
            set.add(p);
        }
        // Judged on the newer half of the window: a loop mended (batched, cached) shows there first, while the
        // older half still holds its calls.
        long newerCalls = 0;
        long newerRows = 0;
        for (Series p : set) {
            long[] h = prepared(p).halves();
            newerCalls += h[2];
            newerRows += h[3];
        }
        long childCalls = prepared(child).halves()[2];
        if (newerRows == 0 || newerCalls * settings.minFanOut() > childCalls) {
            return null; // a parent that did not run in the newer half (a loop that stopped), or too few children
        }
        double ratio = (double) childCalls / newerRows;
        if (ratio > settings.ratioMax() || ratio < (last.lookup() ? settings.lookupRatioMin() : settings.ratioMin())) {
            return null;
        }
        return match(child, set, last.lookup(), seconds, true);
    }

    /** Most rows of a parent for {@link #sortParents}' packed keys (rows above the index bits). */
    private static final int INDEX_BITS = 20;

    /**
     * Sorts {@link #parents} by rows, ties in list order (as a stable sort by rows would), and fills
     * {@link #rows} and {@link #parentCalls}: keys packing rows and list index sorted as primitives, without a
     * comparator visiting each series at every comparison (the sort showed in the profile).
     */
    private void sortParents(int count) {
        boolean packable = count < (1 << INDEX_BITS);
        for (int i = 0; i < count && packable; i++) {
            long r = parents.get(i).rows;
            packable = r >= 0 && r < (1L << (63 - INDEX_BITS));
            order[i] = r << INDEX_BITS | i;
        }
        if (packable) {
            java.util.Arrays.sort(order, 0, count);
            for (int i = 0; i < count; i++) {
                sorted[i] = parents.get((int) (order[i] & ((1 << INDEX_BITS) - 1)));
            }
            for (int i = 0; i < count; i++) {
                parents.set(i, sorted[i]);
                sorted[i] = null;
            }
        } else {
            parents.sort(Comparator.comparingLong(s -> s.rows));
        }
        for (int i = 0; i < count; i++) {
            Series p = parents.get(i);
            rows[i] = p.rows;
            parentCalls[i] = p.calls;
        }
    }

    /**
     * Records this poll's verdict on a judged child and returns its match (if any) with the tally of the
     * polls of the last window that judged it.
     */
    private Match tally(Series child, Match m) {
        int w = pollsPerWindow;
        if (child.verdicts == null || child.verdicts.length != w) {
            child.verdicts = new byte[w];
        } else {
            // Polls since the last verdict that did not judge the child: clear what they overwrite.
            for (int p = child.lastVerdict + 1, cleared = 0; p < stamp && cleared < w; p++, cleared++) {
                child.verdicts[Math.floorMod(p, w)] = 0;
            }
        }
        child.verdicts[Math.floorMod(stamp, w)] = (byte) (m == null ? 1 : 2);
        child.lastVerdict = stamp;
        if (m == null) {
            return null;
        }
        int judgedPolls = 0;
        int matchedPolls = 0;
        int oldest = 0;
        for (int age = 0; age < w; age++) {
            byte v = child.verdicts[Math.floorMod(stamp - age, w)];
            if (v != 0) {
                judgedPolls++;
                oldest = age;
                if (v == 2) {
                    matchedPolls++;
                }
            }
        }
        return new Match(m.dbid(), m.datname(), m.child(), m.text(), m.calls(), m.rows(), m.execSeconds(), m.lookup(),
                m.parents(), m.seconds(), judgedPolls, matchedPolls, oldest, false);
    }

    /** The series' halves and per-interval sums, computed once per poll. */
    private Series prepared(Series s) {
        s.prepare(stamp, mid, ends);
        return s;
    }

    /**
     * A per-interval series summed into blocks of {@link #block} adjacent intervals, the newest block
     * ending with the window; the oldest intervals that do not fill a block are left out.
     */
    private double[] blocks(double[] perInterval) {
        if (block <= 1) {
            return perInterval;
        }
        int n = perInterval.length / block;
        double[] sums = new double[n];
        for (int b = n - 1, i = perInterval.length - 1; b >= 0; b--) {
            for (int k = 0; k < block; k++) {
                sums[b] += perInterval[i--];
            }
        }
        return sums;
    }

    /** What the fits need of a child's calls per block, once per poll. */
    private Moments moments(Series child) {
        if (child.moments == null) {
            child.moments = new Moments(blocks(prepared(child).perInterval(false)));
        }
        return child.moments;
    }

    /** What the fits need of a parent's rows per interval, once per poll. */
    private Regressor regressor(Series parent) {
        if (parent.regressor == null) {
            parent.regressor = new Regressor(blocks(prepared(parent).perInterval(true)));
        }
        return parent.regressor;
    }

    /**
     * {@link Moments#comoves} of the child and one candidate parent, counting the fits made for the
     * child at this poll and those far off (adjusted fit below {@value #FAR_OFF}).
     */
    private boolean inStep(Series child, Series p) {
        Moments moments = moments(child);
        if (moments.flat) {
            return true; // by counts alone: a single parent must then keep pace (see #keepsPace)
        }
        if (moments.calls.length < MIN_EVIDENCE) {
            return false;
        }
        double fit = moments.fit(regressor(p));
        fitted++;
        if (fit < FAR_OFF) {
            farOff++;
        }
        return fit >= MIN_FIT;
    }

    /**
     * Whether the child's calls keep pace with one parent's rows: over the window, interval by interval,
     * the child's calls so far minus {@code ratio} × the parent's rows so far stay within a band of
     * {@value #PACE} parent calls' worth of children, widened by the requests in flight. A loop's
     * children run after their parent's rows, so the gap is the children of the requests in flight at a
     * poll, whatever the split of their children between polls; two unrelated statements drift apart like
     * a random walk, however flat or however alike their steps.
     */
    private boolean keepsPace(Series child, Series p) {
        double ratio = (double) child.calls / p.rows;
        // Requests in flight at a poll, by Little's law: parent calls per second times the seconds one parent
        // call's children take (their execution plus a round trip of ROUND_TRIP each, a floor).
        double perParentCall = (child.execSeconds + ROUND_TRIP * child.calls) / p.calls;
        double inFlight = p.calls / Math.max(1, covered) * perParentCall;
        double band = ratio * p.rows / p.calls * (PACE + 2 * inFlight);
        double[] calls = prepared(child).perInterval(false);
        double[] rows = prepared(p).perInterval(true);
        double gap = 0;
        double low = 0;
        double high = 0;
        for (int t = 0; t < calls.length; t++) {
            gap += calls[t] - ratio * rows[t];
            low = Math.min(low, gap);
            high = Math.max(high, gap);
            if (high - low > band) {
                return false; // out of the band: no need to walk on
            }
        }
        return true;
    }

    /** A one-to-many child: one parent, calls within the tight band of its rows. */
    private Match oncePerRow(Series child, long[] childHalves, int count, double seconds) {
        long low = (long) Math.ceil(child.calls / settings.ratioMax());
        long high = (long) Math.floor(child.calls / settings.ratioMin());
        Series best = null;
        double bestDistance = Double.MAX_VALUE;
        for (int i = lowerBound(rows, count, low); i < count && rows[i] <= high; i++) {
            if (parentCalls[i] * settings.minFanOut() > child.calls) {
                continue;
            }
            Series p = parents.get(i);
            if (p == child) {
                continue;
            }
            double distance = Math.abs(Math.log((double) child.calls / p.rows));
            if (distance >= bestDistance) {
                continue;
            }
            long[] h = prepared(p).halves();
            // Judged, keeping pace is the timing evidence (whatever the split of a request's children between
            // polls, which a fit cannot follow); before, only a flat child or a fit.
            if (stableSingle(childHalves, h, child.calls, p.rows, p.calls) && (evidence || inStep(child, p))
                    && keepsPace(child, p)) {
                best = p;
                bestDistance = distance;
            }
        }
        return best == null ? null : match(child, List.of(best), false, seconds);
    }

    /**
     * A lookup child: one or more parents whose rows together explain its calls. Without evidence from
     * timing (a window of fewer than {@value #MIN_EVIDENCE} intervals, or a child whose calls barely
     * vary) only one parent in the tight band can match; a loose ratio or several parents need the
     * child's calls to follow the parents' rows interval by interval ({@link #evidenced}).
     */
    private Match lookup(Series child, long[] childHalves, int count, double seconds) {
        Moments moments = moments(child);
        // Varying calls, per block or (periodic requests giving every block the same) interval by interval.
        boolean loose = evidence && (moments.cv >= MIN_VARIATION
                || block > 1 && new Moments(prepared(child).perInterval(false)).cv >= MIN_VARIATION);
        long low = loose ? Math.max(2, (long) Math.ceil(child.calls * MIN_SHARE))
                : (long) Math.ceil(child.calls / settings.ratioMax());
        long high = (long) Math.floor(child.calls / (loose ? settings.lookupRatioMin() : settings.ratioMin()));
        int from = lowerBound(rows, count, low);
        int to = lowerBound(rows, count, high + 1);
        if (from >= to) {
            return null;
        }
        // The nearest in rows to the child's calls first: expand outwards from the child's calls.
        int pivot = Math.min(Math.max(lowerBound(rows, count, child.calls), from), to);
        List<Series> near = null;
        int left = pivot - 1;
        int right = pivot;
        // Candidates that fail the free fan-out test do not use up a look (a crowd of small busy lists near
        // the child's calls must not hide a real parent further out); the scan itself is bounded.
        int looked = 0;
        int found = 0;
        for (int scanned = 0; scanned < MAX_SCANNED && looked < 2 * MAX_CANDIDATES && found < MAX_CANDIDATES
                && (left >= from || right < to); scanned++) {
            boolean takeRight = right < to && (left < from || spread(rows[right], child.calls) <= spread(rows[left], child.calls));
            int i = takeRight ? right++ : left--;
            // A parent explains at most all of the child's calls: it needs min-fan-out calls of the child per call.
            if (parentCalls[i] * settings.minFanOut() > child.calls) {
                continue;
            }
            Series p = parents.get(i);
            if (p == child) {
                continue;
            }
            looked++;
            long[] h = prepared(p).halves();
            if (h[0] > 0 && h[2] > 0 && h[1] > 0 && h[3] > 0 && roughlyInStep(childHalves, h) && inStep(child, p)) {
                if (near == null) {
                    near = new ArrayList<>(MAX_CANDIDATES);
                }
                near.add(p); // ran in both halves, as the child did, and in step with it
                found++;
            }
        }
        if (near == null) {
            return null;
        }
        near.sort(Comparator.comparingLong((Series s) -> s.rows).reversed());
        List<Series> set = new ArrayList<>(near.subList(0, Math.min(MAX_PARENTS, near.size())));
        // Parents too small to explain MIN_SHARE, or with too few child calls per call, drop out.
        for (int round = 0; round < MAX_PARENTS && !set.isEmpty(); round++) {
            long total = rowsOf(set);
            List<Series> kept = new ArrayList<>();
            for (Series p : set) {
                double share = (double) p.rows / total;
                if (share >= MIN_SHARE && share * child.calls >= settings.minFanOut() * p.calls) {
                    kept.add(p);
                }
            }
            if (kept.size() == set.size()) {
                break;
            }
            set = kept;
        }
        if (set.size() > 1 && fits(child, set) && stable(child, childHalves, set) && evidenced(child, set)) {
            return match(child, set, true, seconds);
        }
        // One candidate too many (an unrelated list near the child's calls): the set without it.
        for (int i = 0; set.size() > 2 && i < set.size(); i++) {
            List<Series> fewer = new ArrayList<>(set);
            fewer.remove(i);
            if (fits(child, fewer) && stable(child, childHalves, fewer) && evidenced(child, fewer)) {
                return match(child, fewer, true, seconds);
            }
        }
        // The set did not fit together (or is one parent): the best single parent, if any.
        Series best = null;
        double bestDistance = Double.MAX_VALUE;
        for (Series p : near) {
            double distance = Math.abs(Math.log((double) child.calls / p.rows));
            if (distance < bestDistance && p.calls * settings.minFanOut() <= child.calls && fitsRows(child, p.rows)
                    && stableSingle(childHalves, prepared(p).halves(), child.calls, p.rows, p.calls) && keepsPace(child, p)
                    && ((double) child.calls / p.rows >= settings.ratioMin() || evidenced(child, List.of(p)))) {
                best = p;
                bestDistance = distance;
            }
        }
        return best == null ? null : match(child, List.of(best), true, seconds);
    }

    private boolean fits(Series child, List<Series> set) {
        return fitsRows(child, rowsOf(set));
    }

    /** {@link #fits} for parents with {@code total} rows together. */
    private boolean fitsRows(Series child, long total) {
        double ratio = (double) child.calls / total;
        return ratio >= settings.lookupRatioMin() && ratio <= settings.ratioMax();
    }

    /**
     * Whether timing proves a loose ratio or a set of parents: a window of at least
     * {@value #MIN_EVIDENCE} intervals in which the child's calls and the parents' rows both vary (a
     * coefficient of variation of at least {@value #MIN_VARIATION}) and the rows explain at least
     * {@value #STRONG_FIT} of the variance of the calls.
     */
    private boolean evidenced(Series child, List<Series> set) {
        Moments moments = moments(child);
        if (!evidence || moments.cv < MIN_VARIATION && (set.size() > 1 || block == 1)) {
            return false;
        }
        Regressor rows;
        if (set.size() == 1) {
            rows = regressor(set.get(0));
        } else {
            double[] sum = new double[ends.length];
            for (Series p : set) {
                double[] r = prepared(p).perInterval(true);
                for (int i = 0; i < sum.length; i++) {
                    sum[i] += r[i];
                }
            }
            rows = new Regressor(blocks(sum));
        }
        // One parent also keeps pace with the child (checked by the caller), which chance pairs seldom do:
        // the fit need only show that the child follows the rows.
        double bar = set.size() == 1 ? MIN_FIT : moments.calls.length < SHORT_WINDOW ? STRONGER_FIT : STRONG_FIT;
        if (moments.cv >= MIN_VARIATION && rows.cv >= MIN_VARIATION && moments.fit(rows) >= bar) {
            return true;
        }
        if (set.size() == 1 && block > 1) {
            // Requests at a steady period give as many to every block, flat sums that prove nothing: interval by
            // interval (a request every 4 s at 2 s: in every other interval) the rows still vary, and the calls follow.
            Moments calls = new Moments(prepared(child).perInterval(false));
            Regressor each = new Regressor(prepared(set.get(0)).perInterval(true));
            return calls.cv >= MIN_VARIATION && each.cv >= MIN_VARIATION && calls.fit(each) >= MIN_FIT;
        }
        return false;
    }

    /**
     * Whether the child and its parents ran in both halves of the window, with child calls per parent
     * row (and, for a single parent, per parent call) in each half within {@link #STABILITY} of the
     * window's.
     */
    private boolean stable(Series child, long[] childHalves, List<Series> set) {
        if (set.size() == 1) {
            Series p = set.get(0);
            return stableSingle(childHalves, prepared(p).halves(), child.calls, p.rows, p.calls);
        }
        long rows = 0;
        long[] sum = new long[4];
        for (Series p : set) {
            long[] h = prepared(p).halves();
            if (h[0] == 0 || h[2] == 0 || h[1] == 0 || h[3] == 0) {
                return false;
            }
            for (int i = 0; i < 4; i++) {
                sum[i] += h[i];
            }
            rows += p.rows;
        }
        double perRow = (double) child.calls / rows;
        return near(childHalves[0] / (double) sum[1], perRow) && near(childHalves[2] / (double) sum[3], perRow);
    }

    /** {@link #stable} for one parent, without allocation. */
    private static boolean stableSingle(long[] c, long[] h, long childCalls, long rows, long calls) {
        if (h[0] == 0 || h[2] == 0 || h[1] == 0 || h[3] == 0) {
            return false;
        }
        double perRow = (double) childCalls / rows;
        double perCall = (double) childCalls / calls;
        return near(c[0] / (double) h[1], perRow) && near(c[2] / (double) h[3], perRow)
                && near(c[0] / (double) h[0], perCall) && near(c[2] / (double) h[2], perCall);
    }

    /**
     * Whether the child's calls per interval follow the parent's rows per interval, in the same interval
     * or the next (a request's rows arrive at once, its children over the following moments): the
     * least-squares fit of calls on the rows of the same and of the previous interval, with
     * non-negative weights, explains at least {@value #MIN_FIT} of the variance of the calls. A child
     * whose calls vary less than {@value #FLAT} (coefficient of variation) cannot be told by timing and
     * passes (only the tight band admits it then); a varying child in a window of fewer than
     * {@value #MIN_EVIDENCE} intervals fails (a fit over so few points is no evidence).
     */
    static boolean comoves(double[] calls, double[] rows) {
        return new Moments(calls).comoves(new Regressor(rows));
    }

    /** What a fit needs of a parent's rows per interval (or of several parents' together): computed once per poll. */
    static final class Regressor {
        final double[] x;
        /** Σ x(t)², Σ x(t-1)², Σ x(t) x(t-1), with x(-1) = 0. */
        final double s00;
        final double s11;
        final double s01;
        final double cv;

        Regressor(double[] x) {
            this.x = x;
            int n = x.length;
            double sum = 0, s00 = 0, s01 = 0;
            for (int t = 0; t < n; t++) {
                sum += x[t];
                s00 += x[t] * x[t];
                if (t > 0) {
                    s01 += x[t] * x[t - 1];
                }
            }
            this.s00 = s00;
            this.s11 = n == 0 ? 0 : s00 - x[n - 1] * x[n - 1];
            this.s01 = s01;
            this.cv = variation(sum, s00, n);
        }
    }

    /** Coefficient of variation (population) of n values from their sum and sum of squares; 0 without a mean. */
    static double variation(double sum, double squares, int n) {
        if (n == 0 || sum <= 0) {
            return 0;
        }
        double mean = sum / n;
        return Math.sqrt(Math.max(0, squares - n * mean * mean) / n) / mean;
    }

    /** What the fit needs of a child's calls per interval, computed once per child and poll. */
    static final class Moments {
        final double[] calls;
        final boolean flat;
        final double sst;
        final double syy;
        final double cv;

        Moments(double[] calls) {
            this.calls = calls;
            int n = calls.length;
            double sum = 0;
            double squares = 0;
            for (double y : calls) {
                sum += y;
                squares += y * y;
            }
            double mean = sum / n;
            syy = squares;
            sst = Math.max(0, squares - n * mean * mean);
            cv = variation(sum, squares, n);
            flat = cv < FLAT;
        }

        boolean comoves(Regressor rows) {
            if (flat) {
                return true;
            }
            return calls.length >= MIN_EVIDENCE && fit(rows) >= MIN_FIT;
        }

        /**
         * Share of the variance of the calls that the best fit on the rows explains, adjusted for the two
         * weights fitted without an intercept (R² adjusted: 1 - (1 - R²)(n - 1)/(n - 2); may be negative).
         */
        double fit(Regressor rows) {
            if (sst <= 0) {
                return 0;
            }
            double[] x = rows.x;
            double[] y = calls;
            int n = y.length;
            // The two sums in two interleaved halves each: independent chains of additions, twice the throughput.
            double a0 = x[0] * y[0], a1 = 0, b0 = 0, b1 = 0;
            int t = 1;
            for (; t + 1 < n; t += 2) {
                a0 += x[t] * y[t];
                b0 += x[t - 1] * y[t];
                a1 += x[t + 1] * y[t + 1];
                b1 += x[t] * y[t + 1];
            }
            if (t < n) {
                a0 += x[t] * y[t];
                b0 += x[t - 1] * y[t];
            }
            double s0y = a0 + a1;
            double s1y = b0 + b1;
            double s00 = rows.s00, s11 = rows.s11, s01 = rows.s01;
            // SSE(a, b) = syy - 2a s0y - 2b s1y + a² s00 + 2ab s01 + b² s11, least over a, b ≥ 0.
            double best = syy;
            double det = s00 * s11 - s01 * s01;
            if (det > 1e-9) {
                double a = (s0y * s11 - s1y * s01) / det;
                double b = (s1y * s00 - s0y * s01) / det;
                if (a >= 0 && b >= 0) {
                    best = Math.min(best, syy - 2 * a * s0y - 2 * b * s1y + a * a * s00 + 2 * a * b * s01 + b * b * s11);
                }
            }
            if (s00 > 0 && s0y > 0) {
                best = Math.min(best, syy - s0y * s0y / s00);
            }
            if (s11 > 0 && s1y > 0) {
                best = Math.min(best, syy - s1y * s1y / s11);
            }
            // Adjusted for the weights fitted (at most two, no intercept): over few blocks a chance fit is
            // likely, and pays for it.
            return n <= 2 ? 0 : 1 - best / sst * (n - 1) / (n - 2);
        }
    }

    /**
     * A cheap first look at one candidate of a lookup: child calls per row of this parent in the two
     * halves within {@value #STABILITY}² of each other (loose: in a shared lookup, the parents' rows
     * add up to the child's calls only together).
     */
    private static boolean roughlyInStep(long[] child, long[] parent) {
        double first = (double) child[0] / parent[1];
        double second = (double) child[2] / parent[3];
        return first <= second * STABILITY * STABILITY && second <= first * STABILITY * STABILITY;
    }

    /** How far apart two counts are, as a factor of at least 1: orders as |log(a / b)| does, without the logarithm. */
    private static double spread(long a, long b) {
        return a >= b ? (double) a / b : (double) b / a;
    }

    /** The parents' rows together (a loop, not a stream: it runs for every candidate set). */
    private static long rowsOf(List<Series> set) {
        long total = 0;
        for (int i = 0; i < set.size(); i++) {
            total += set.get(i).rows;
        }
        return total;
    }

    private static boolean near(double half, double whole) {
        return half <= whole * STABILITY && half * STABILITY >= whole;
    }

    private static Match match(Series child, List<Series> set, boolean lookup, double seconds) {
        return match(child, set, lookup, seconds, false);
    }

    /** @param kept whether only an open finding's counts matched ({@link #sustained}) */
    private static Match match(Series child, List<Series> set, boolean lookup, double seconds, boolean kept) {
        long total = set.stream().mapToLong(s -> s.rows).sum();
        List<Parent> parents = new ArrayList<>();
        for (Series p : set) {
            parents.add(new Parent(p.key.queryid(), p.text, p.calls, p.rows, (double) p.rows / total));
        }
        parents.sort(Comparator.comparingDouble(Parent::share).reversed().thenComparingLong(Parent::queryid));
        return new Match(child.key.dbid(), child.datname, child.key.queryid(), child.text, child.calls, child.rows,
                child.execSeconds, lookup, List.copyOf(parents), seconds, 0, 0, 0, kept);
    }

    private static int lowerBound(long[] sorted, int length, long key) {
        int lo = 0;
        int hi = length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
