package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
 * busy statements whose totals happen to match is stability: the window is cut into two halves by
 * time, and in each half every parent and the child ran, and child calls per parent row (and, for one
 * parent, child calls per parent call) stay within a factor of {@value #STABILITY} of the window's.
 *
 * <p>Cost: parents are sorted by rows once per database, and each child finds its candidates by
 * binary search over that order; of those within its rows band, nearest first, the ones with enough
 * fan-out are looked at closely (at most twice {@value #MAX_CANDIDATES}, keeping
 * {@value #MAX_CANDIDATES}), scanning at most {@value #MAX_SCANNED}: O(n log n) for n statements, no
 * all-pairs loop.
 */
public final class NPlusOneMatcher {

    /** Least share of a lookup's calls that a parent must explain to be named. */
    static final double MIN_SHARE = 0.1;
    /** Largest factor between a half's ratio and the window's for the pattern to count as stable. */
    static final double STABILITY = 2.0;
    /** Most parents named for one child. */
    static final int MAX_PARENTS = 4;
    /** A child whose calls per interval vary less than this (coefficient of variation) cannot tell a parent by timing. */
    static final double FLAT = 0.25;
    /** Least share of the variance of the child's calls per interval that a parent's rows must explain. */
    static final double MIN_FIT = 0.5;
    /** Most candidate parents of a lookup looked at closely (the nearest in rows). */
    /** Most parents within the child's rows band scanned for candidates, whatever their fan-out. */
    static final int MAX_SCANNED = 256;
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
     */
    public record Match(long dbid, String datname, long child, String text, long calls, long rows, double execSeconds,
            boolean lookup, List<Parent> parents, double seconds) {

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
    /** Numbers each call of {@link #match}, so that a series derives its halves and per-interval sums once per poll. */
    private int stamp;
    private double mid;
    private double[] ends;

    public NPlusOneMatcher(Settings settings) {
        this.settings = settings;
    }

    /** Every child in the history that matches a loop, one per (database, child). */
    public List<Match> match(NPlusOneHistory history) {
        List<Match> matches = new ArrayList<>();
        if (history.intervals() < 2) {
            return matches; // one interval has no halves to compare
        }
        stamp++;
        mid = (history.start() + history.end()) / 2;
        ends = history.ends();
        double seconds = history.coveredSeconds();
        Map<Long, List<Series>> byDatabase = new HashMap<>();
        for (Series s : history.series()) {
            byDatabase.computeIfAbsent(s.key.dbid(), k -> new ArrayList<>()).add(s);
        }
        for (List<Series> statements : byDatabase.values()) {
            List<Series> parents = new ArrayList<>();
            for (Series s : statements) {
                if (s.rows >= 2 * s.calls && s.calls > 0 && s.read) {
                    parents.add(s);
                }
            }
            if (parents.isEmpty()) {
                continue;
            }
            parents.sort(Comparator.comparingLong(s -> s.rows));
            long[] rows = new long[parents.size()];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = parents.get(i).rows;
            }
            for (Series child : statements) {
                if (child.calls < settings.minCalls() || !child.read) {
                    continue;
                }
                Match m = child.rows <= child.calls ? lookup(child, parents, rows, seconds)
                        : oncePerRow(child, parents, rows, seconds);
                if (m != null) {
                    matches.add(m);
                }
            }
        }
        return matches;
    }

    /** A one-to-many child: one parent, calls ≈ its rows. */
    /** The series' halves and per-interval sums, computed once per poll. */
    private Series prepared(Series s) {
        s.prepare(stamp, mid, ends);
        return s;
    }

    private Match oncePerRow(Series child, List<Series> parents, long[] rows, double seconds) {
        long low = (long) Math.ceil(child.calls / settings.ratioMax());
        long high = (long) Math.floor(child.calls / settings.ratioMin());
        Series best = null;
        double bestDistance = Double.MAX_VALUE;
        long[] childHalves = null;
        for (int i = lowerBound(rows, low); i < rows.length && rows[i] <= high; i++) {
            Series p = parents.get(i);
            if (p == child || p.calls * settings.minFanOut() > child.calls) {
                continue;
            }
            double distance = Math.abs(Math.log((double) child.calls / p.rows));
            if (distance >= bestDistance) {
                continue;
            }
            if (childHalves == null) {
                childHalves = prepared(child).halves();
            }
            if (stable(child, childHalves, List.of(p)) && comoves(child.perInterval(false), p.perInterval(true))) {
                best = p;
                bestDistance = distance;
            }
        }
        return best == null ? null : match(child, List.of(best), false, seconds);
    }

    /** A lookup child: one or more parents whose rows together explain its calls. */
    private Match lookup(Series child, List<Series> parents, long[] rows, double seconds) {
        long low = Math.max(2, (long) Math.ceil(child.calls * MIN_SHARE));
        long high = (long) Math.floor(child.calls / settings.lookupRatioMin());
        int from = lowerBound(rows, low);
        int to = lowerBound(rows, high + 1);
        if (from >= to) {
            return null;
        }
        // The nearest in rows to the child's calls first: expand outwards from the child's calls.
        int pivot = Math.min(Math.max(lowerBound(rows, child.calls), from), to);
        List<Series> near = new ArrayList<>();
        int left = pivot - 1;
        int right = pivot;
        long[] childHalves = prepared(child).halves();
        if (childHalves[0] == 0 || childHalves[2] == 0) {
            return null;
        }
        Moments moments = new Moments(child.perInterval(false));
        // Candidates that fail the free fan-out test do not use up a look (a crowd of small busy lists near
        // the child's calls must not hide a real parent further out); the scan itself is bounded.
        int looked = 0;
        for (int scanned = 0; scanned < MAX_SCANNED && looked < 2 * MAX_CANDIDATES && near.size() < MAX_CANDIDATES
                && (left >= from || right < to); scanned++) {
            boolean takeRight = right < to && (left < from
                    || Math.abs(Math.log((double) rows[right] / child.calls)) <= Math.abs(Math.log((double) rows[left] / child.calls)));
            Series p = parents.get(takeRight ? right++ : left--);
            // A parent explains at most all of the child's calls: it needs min-fan-out calls of the child per call.
            if (p == child || p.calls * settings.minFanOut() > child.calls) {
                continue;
            }
            looked++;
            long[] h = prepared(p).halves();
            if (h[0] > 0 && h[2] > 0 && h[1] > 0 && h[3] > 0 && roughlyInStep(childHalves, h) && moments.comoves(p.perInterval(true))) {
                near.add(p); // ran in both halves, as the child did, and in step with it
            }
        }
        if (near.isEmpty()) {
            return null;
        }
        near.sort(Comparator.comparingLong((Series s) -> s.rows).reversed());
        List<Series> set = new ArrayList<>(near.subList(0, Math.min(MAX_PARENTS, near.size())));
        // Parents too small to explain MIN_SHARE, or with too few child calls per call, drop out.
        for (int round = 0; round < MAX_PARENTS && !set.isEmpty(); round++) {
            long total = set.stream().mapToLong(s -> s.rows).sum();
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
        if (!set.isEmpty() && fits(child, set) && stable(child, childHalves, set)) {
            return match(child, set, true, seconds);
        }
        // The set did not fit together: the best single parent, if any.
        Series best = null;
        double bestDistance = Double.MAX_VALUE;
        for (Series p : near) {
            List<Series> one = List.of(p);
            double distance = Math.abs(Math.log((double) child.calls / p.rows));
            if (distance < bestDistance && p.calls * settings.minFanOut() <= child.calls && fits(child, one)
                    && stable(child, childHalves, one)) {
                best = p;
                bestDistance = distance;
            }
        }
        return best == null ? null : match(child, List.of(best), true, seconds);
    }

    private boolean fits(Series child, List<Series> set) {
        long total = set.stream().mapToLong(s -> s.rows).sum();
        double ratio = (double) child.calls / total;
        return ratio >= settings.lookupRatioMin() && ratio <= settings.ratioMax();
    }

    /**
     * Whether the child and its parents ran in both halves of the window, with child calls per parent
     * row (and, for a single parent, per parent call) in each half within {@link #STABILITY} of the
     * window's.
     */
    private boolean stable(Series child, long[] childHalves, List<Series> set) {
        if (childHalves[0] == 0 || childHalves[2] == 0) {
            return false;
        }
        long rows = 0;
        long calls = 0;
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
            calls += p.calls;
        }
        double perRow = (double) child.calls / rows;
        if (!near(childHalves[0] / (double) sum[1], perRow) || !near(childHalves[2] / (double) sum[3], perRow)) {
            return false;
        }
        if (set.size() == 1) {
            double perCall = (double) child.calls / calls;
            return near(childHalves[0] / (double) sum[0], perCall) && near(childHalves[2] / (double) sum[2], perCall);
        }
        return true;
    }

    /**
     * Whether the child's calls per interval follow the parent's rows per interval, in the same interval
     * or the next (a request's rows arrive at once, its children over the following moments): the
     * least-squares fit of calls on the rows of the same and of the previous interval, with
     * non-negative weights, explains at least {@value #MIN_FIT} of the variance of the calls. Busy
     * statements that run at steady rates have flat series, which timing cannot tell apart: a child whose
     * calls vary less than {@value #FLAT} (coefficient of variation) passes.
     */
    static boolean comoves(double[] calls, double[] rows) {
        return new Moments(calls).comoves(rows);
    }

    /** What the fit needs of a child's calls per interval, computed once per child. */
    static final class Moments {
        final double[] calls;
        final boolean flat;
        final double sst;
        final double syy;

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
            flat = n < 3 || Math.sqrt(sst / n) < FLAT * mean;
        }

        boolean comoves(double[] rows) {
            if (flat) {
                return true;
            }
            int n = calls.length;
            double s00 = 0, s11 = 0, s01 = 0, s0y = 0, s1y = 0;
            double previous = 0;
            for (int t = 0; t < n; t++) {
                double x0 = rows[t];
                double y = calls[t];
                s00 += x0 * x0;
                s11 += previous * previous;
                s01 += x0 * previous;
                s0y += x0 * y;
                s1y += previous * y;
                previous = x0;
            }
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
            return 1 - best / sst >= MIN_FIT;
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

    private static boolean near(double half, double whole) {
        return half <= whole * STABILITY && half * STABILITY >= whole;
    }

    private static Match match(Series child, List<Series> set, boolean lookup, double seconds) {
        long total = set.stream().mapToLong(s -> s.rows).sum();
        List<Parent> parents = new ArrayList<>();
        for (Series p : set) {
            parents.add(new Parent(p.key.queryid(), p.text, p.calls, p.rows, (double) p.rows / total));
        }
        parents.sort(Comparator.comparingDouble(Parent::share).reversed().thenComparingLong(Parent::queryid));
        return new Match(child.key.dbid(), child.datname, child.key.queryid(), child.text, child.calls, child.rows,
                child.execSeconds, lookup, List.copyOf(parents), seconds);
    }

    private static int lowerBound(long[] sorted, long key) {
        int lo = 0;
        int hi = sorted.length;
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
