package io.pgvigil.statements;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * The recent interval deltas of every top-level statement, per (database, queryid), over the last
 * {@code window} of time whatever the poll interval: what {@code n_plus_one} judges. An interval
 * belongs to the window while its midpoint is inside it (so poll jitter neither adds nor drops an
 * interval). Running sums make the window's totals O(1) per statement; a statement leaves when its
 * last interval does or when pg_stat_statements no longer has it, so memory is bounded by what
 * pg_stat_statements holds times the intervals in a window. Not thread-safe: the check's poll only.
 */
public final class NPlusOneHistory {

    /** One statement's activity in one interval, summed over roles. */
    public record Delta(long dbid, String datname, long queryid, String text, long calls, long rows,
            double execSeconds) {
    }

    record Key(long dbid, long queryid) {
    }

    /** {@code end} and {@code seconds} in epoch seconds: the interval (end - seconds, end]. */
    record Sample(double end, double seconds, long calls, long rows, double execSeconds) {

        double midpoint() {
            return end - seconds / 2;
        }
    }

    /** One statement's samples and their sums. */
    static final class Series {
        final Key key;
        String datname;
        String text;
        /** Whether the text is a data statement (computed when the text arrives: the regex is not free). */
        boolean data = true;
        /** Whether it reads (SELECT, WITH, VALUES, TABLE): only reads are loops' children or parents. */
        boolean read = true;
        final ArrayDeque<Sample> samples = new ArrayDeque<>(4);
        long calls;
        long rows;
        double execSeconds;
        /** Per-poll caches of what the matcher derives from the samples (see {@link #prepare}). */
        private int stamp = -1;
        private final long[] halves = new long[4];
        private double[] callsPerInterval;
        private double[] rowsPerInterval;

        Series(Key key) {
            this.key = key;
        }

        /** Computes, once per poll ({@code stamp}), the halves; the per-interval series follow on demand. */
        void prepare(int stamp, double mid, double[] ends) {
            if (this.stamp == stamp) {
                return;
            }
            this.stamp = stamp;
            this.ends = ends;
            callsPerInterval = null;
            rowsPerInterval = null;
            long c0 = 0, r0 = 0, c1 = 0, r1 = 0;
            for (Sample s : samples) {
                if (s.midpoint() < mid) {
                    c0 += s.calls();
                    r0 += s.rows();
                } else {
                    c1 += s.calls();
                    r1 += s.rows();
                }
            }
            halves[0] = c0;
            halves[1] = r0;
            halves[2] = c1;
            halves[3] = r1;
        }

        private double[] ends;

        /** Calls and rows in the first half of the window ([0], [1]) and in the second ([2], [3]); after {@link #prepare}. */
        long[] halves() {
            return halves;
        }

        /** Calls ({@code rows} false) or rows per interval of the window; after {@link #prepare}. */
        double[] perInterval(boolean rows) {
            if (callsPerInterval == null) {
                callsPerInterval = new double[ends.length];
                rowsPerInterval = new double[ends.length];
                int i = 0;
                // Samples and intervals are both in time order: one walk, no search.
                for (Sample s : samples) {
                    while (i < ends.length && ends[i] < s.end()) {
                        i++;
                    }
                    if (i < ends.length && ends[i] == s.end()) {
                        callsPerInterval[i] += s.calls();
                        rowsPerInterval[i] += s.rows();
                    }
                }
            }
            return rows ? rowsPerInterval : callsPerInterval;
        }
    }

    /**
     * A read: a write run once per row (an ORM flushing entities one by one) is as many calls whether
     * or not JDBC batching sent them in one round trip, which pg_stat_statements cannot tell.
     */
    static final java.util.regex.Pattern READ = java.util.regex.Pattern.compile(
            "^\\s*(?:/\\*.*?\\*/\\s*)*\\(*\\s*(SELECT|WITH|VALUES|TABLE)\\b",
            java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.DOTALL);

    private final double windowSeconds;
    private final Map<Key, Series> series = new HashMap<>();
    /** The intervals in the window: start and end of each, oldest first. */
    private final ArrayDeque<double[]> intervals = new ArrayDeque<>();

    public NPlusOneHistory(double windowSeconds) {
        this.windowSeconds = windowSeconds;
    }

    /** Records the interval ending at {@code end} (epoch seconds) and drops what left the window. */
    public void add(double end, double seconds, Collection<Delta> deltas) {
        if (seconds > 0) {
            intervals.addLast(new double[] { end - seconds, end });
            for (Delta d : deltas) {
                if (d.calls() <= 0) {
                    continue;
                }
                Series s = series.computeIfAbsent(new Key(d.dbid(), d.queryid()), Series::new);
                s.datname = d.datname();
                if (d.text() != null && !d.text().equals(s.text)) {
                    s.text = d.text();
                    s.data = SqlText.isDataStatement(s.text);
                    s.read = READ.matcher(s.text).find();
                }
                s.samples.addLast(new Sample(end, seconds, d.calls(), d.rows(), d.execSeconds()));
                s.calls += d.calls();
                s.rows += d.rows();
                s.execSeconds += d.execSeconds();
            }
        }
        double from = end - windowSeconds;
        while (!intervals.isEmpty() && (intervals.peekFirst()[0] + intervals.peekFirst()[1]) / 2 <= from) {
            intervals.removeFirst();
        }
        for (Iterator<Series> it = series.values().iterator(); it.hasNext();) {
            Series s = it.next();
            while (!s.samples.isEmpty() && s.samples.peekFirst().midpoint() <= from) {
                Sample gone = s.samples.removeFirst();
                s.calls -= gone.calls();
                s.rows -= gone.rows();
                s.execSeconds -= gone.execSeconds();
            }
            if (s.samples.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Forgets the statements that pg_stat_statements no longer has (evicted, reset). */
    public void retain(Set<Long> queryids) {
        series.values().removeIf(s -> !queryids.contains(s.key.queryid()));
    }

    /** Statements that ran in the window. */
    Collection<Series> series() {
        return series.values();
    }

    /** The queryids that ran in the window, in any database. */
    public Set<Long> queryids() {
        Set<Long> ids = new java.util.HashSet<>(series.size() * 2);
        series.keySet().forEach(k -> ids.add(k.queryid()));
        return ids;
    }

    /** The ends of the window's intervals, oldest first. */
    double[] ends() {
        double[] ends = new double[intervals.size()];
        int i = 0;
        for (double[] interval : intervals) {
            ends[i++] = interval[1];
        }
        return ends;
    }

    /** Number of intervals in the window. */
    public int intervals() {
        return intervals.size();
    }

    /** Start of the oldest interval in the window (epoch seconds), NaN when empty. */
    double start() {
        return intervals.isEmpty() ? Double.NaN : intervals.peekFirst()[0];
    }

    /** End of the newest interval in the window (epoch seconds), NaN when empty. */
    double end() {
        return intervals.isEmpty() ? Double.NaN : intervals.peekLast()[1];
    }

    /** Seconds the window's intervals cover. */
    public double coveredSeconds() {
        return intervals.isEmpty() ? 0 : end() - start();
    }

    /** Statements held, for memory accounting. */
    public int size() {
        return series.size();
    }
}
