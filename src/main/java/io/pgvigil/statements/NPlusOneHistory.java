package io.pgvigil.statements;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.ArrayList;
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

        // Written out: the record's generated ones showed in the profile (a lookup per statement per poll).
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.dbid == dbid && k.queryid == queryid;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(queryid * 31 + dbid);
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
        /** The samples, oldest first, in parallel arrays used as a ring from {@code head}: no object per sample. */
        private double[] ends = new double[4];
        private double[] midpoints = new double[4];
        private long[] sampleCalls = new long[4];
        private long[] sampleRows = new long[4];
        private double[] sampleExec = new double[4];
        private int head;
        private int size;
        long calls;
        long rows;
        double execSeconds;
        /** Per-poll caches of what the matcher derives from the samples (see {@link #prepare}). */
        private int stamp = -1;
        /**
         * Calls and rows in the first and the second half of the window at the last {@link #prepare},
         * kept as running sums: the first {@code split} samples are in the first half.
         */
        private final long[] halves = new long[4];
        private int split;
        private double[] callsPerInterval;
        private double[] rowsPerInterval;
        private boolean perIntervalReady;
        /** The matcher's fit inputs, derived from the per-interval series once per poll (null until needed). */
        NPlusOneMatcher.Moments moments;
        NPlusOneMatcher.Regressor regressor;
        /**
         * The matcher's verdicts at the last polls that judged this statement as a child, by poll number
         * modulo their length: 0 not judged, 1 judged without a match, 2 matched (null until judged).
         */
        byte[] verdicts;
        int lastVerdict;
        /** Whether it left {@link NPlusOneHistory#series} (it may linger in a database's list a while). */
        boolean removed;
        /** The matcher does not look at this child again before this poll (see NPlusOneMatcher#REST_POLLS). */
        int restUntil = Integer.MIN_VALUE;

        Series(Key key) {
            this.key = key;
        }

        /** Computes, once per poll ({@code stamp}), the halves; the per-interval series follow on demand. */
        void prepare(int stamp, double mid, double[] ends) {
            if (this.stamp == stamp) {
                return;
            }
            this.stamp = stamp;
            this.windowEnds = ends;
            perIntervalReady = false;
            moments = null;
            regressor = null;
            // The window's middle only moves on: samples pass from the second half to the first, kept as sums.
            int length = this.ends.length;
            while (split < size) {
                int i = (head + split) % length;
                if (midpoints[i] >= mid) {
                    break;
                }
                halves[0] += sampleCalls[i];
                halves[1] += sampleRows[i];
                halves[2] -= sampleCalls[i];
                halves[3] -= sampleRows[i];
                split++;
            }
        }

        /** The window's interval ends at the last {@link #prepare}. */
        private double[] windowEnds;

        void addSample(double end, double seconds, long calls, long rows, double execSeconds) {
            if (size == ends.length) {
                grow();
            }
            int i = (head + size) % ends.length;
            ends[i] = end;
            midpoints[i] = NPlusOneHistory.midpoint(end, seconds);
            sampleCalls[i] = calls;
            sampleRows[i] = rows;
            sampleExec[i] = execSeconds;
            size++;
            halves[2] += calls; // the newest sample is in the second half
            halves[3] += rows;
            this.calls += calls;
            this.rows += rows;
            this.execSeconds += execSeconds;
        }

        /** Drops the samples whose midpoint is at or before {@code from}; whether any is left. */
        boolean dropBefore(double from) {
            while (size > 0 && midpoints[head] <= from) {
                calls -= sampleCalls[head];
                rows -= sampleRows[head];
                int half = split > 0 ? 0 : 2;
                halves[half] -= sampleCalls[head];
                halves[half + 1] -= sampleRows[head];
                if (split > 0) {
                    split--;
                }
                execSeconds -= sampleExec[head];
                head = (head + 1) % ends.length;
                size--;
            }
            return size > 0;
        }

        private void grow() {
            int n = ends.length * 2;
            double[] e = new double[n];
            double[] m = new double[n];
            long[] c = new long[n];
            long[] r = new long[n];
            double[] x = new double[n];
            for (int k = 0; k < size; k++) {
                int i = (head + k) % ends.length;
                e[k] = ends[i];
                m[k] = midpoints[i];
                c[k] = sampleCalls[i];
                r[k] = sampleRows[i];
                x[k] = sampleExec[i];
            }
            ends = e;
            midpoints = m;
            sampleCalls = c;
            sampleRows = r;
            sampleExec = x;
            head = 0;
        }

        /** Calls and rows in the first half of the window ([0], [1]) and in the second ([2], [3]); after {@link #prepare}. */
        long[] halves() {
            return halves;
        }

        /** Calls ({@code rows} false) or rows per interval of the window; after {@link #prepare}. */
        double[] perInterval(boolean rows) {
            if (!perIntervalReady) {
                perIntervalReady = true;
                double[] window = windowEnds;
                // Reused from poll to poll while the window holds as many intervals.
                if (callsPerInterval == null || callsPerInterval.length != window.length) {
                    callsPerInterval = new double[window.length];
                    rowsPerInterval = new double[window.length];
                } else {
                    java.util.Arrays.fill(callsPerInterval, 0);
                    java.util.Arrays.fill(rowsPerInterval, 0);
                }
                int w = 0;
                int length = ends.length;
                // Samples and intervals are both in time order: one walk, no search.
                for (int k = 0, i = head; k < size; k++, i = i + 1 == length ? 0 : i + 1) {
                    double end = ends[i];
                    while (w < window.length && window[w] < end) {
                        w++;
                    }
                    if (w < window.length && window[w] == end) {
                        callsPerInterval[w] += sampleCalls[i];
                        rowsPerInterval[w] += sampleRows[i];
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
    /** The same statements per database, as the matcher walks them (kept, not regrouped at every poll). */
    private final Map<Long, List<Series>> databases = new HashMap<>();
    /** The intervals in the window, oldest first. */
    private final ArrayDeque<Interval> intervals = new ArrayDeque<>();
    /** Statements removed from {@link #series} but still in {@link #databases} (dropped from there in batches). */
    private int removed;

    /** An interval of the window, with the statements that have a sample in it: only they age when it leaves. */
    private record Interval(double start, double end, double midpoint, List<Series> members) {
    }

    /**
     * An interval's midpoint, computed once and shared by the interval and its samples: (start + end) / 2
     * and end - seconds / 2 differ by a rounding step now and then, and a sample still in the window
     * after its interval left would never age (only the leaving interval's statements are walked).
     */
    static double midpoint(double end, double seconds) {
        return end - seconds / 2;
    }

    public NPlusOneHistory(double windowSeconds) {
        this.windowSeconds = windowSeconds;
    }

    /** Records the interval ending at {@code end} (epoch seconds) and drops what left the window. */
    public void add(double end, double seconds, Collection<Delta> deltas) {
        if (seconds > 0) {
            Interval interval = new Interval(end - seconds, end, midpoint(end, seconds), new ArrayList<>(deltas.size()));
            intervals.addLast(interval);
            for (Delta d : deltas) {
                if (d.calls() <= 0) {
                    continue;
                }
                Key key = new Key(d.dbid(), d.queryid());
                Series s = series.get(key);
                if (s == null) {
                    s = new Series(key);
                    series.put(key, s);
                    databases.computeIfAbsent(d.dbid(), k -> new ArrayList<>()).add(s);
                }
                s.datname = d.datname();
                if (d.text() != null && !d.text().equals(s.text)) {
                    s.text = d.text();
                    s.data = SqlText.isDataStatement(s.text);
                    s.read = READ.matcher(s.text).find();
                }
                s.addSample(end, seconds, d.calls(), d.rows(), d.execSeconds());
                interval.members().add(s);
            }
        }
        double from = end - windowSeconds;
        while (!intervals.isEmpty() && intervals.peekFirst().midpoint() <= from) {
            // Only the statements that ran in the interval leaving the window age: no walk over all of them.
            for (Series s : intervals.removeFirst().members()) {
                if (!s.dropBefore(from) && series.get(s.key) == s) {
                    series.remove(s.key);
                    s.removed = true;
                    removed++;
                }
            }
        }
        regroup();
    }

    /** Forgets the statements that pg_stat_statements no longer has (evicted, reset). */
    public void retain(Set<Long> queryids) {
        series.values().removeIf(s -> {
            if (queryids.contains(s.key.queryid())) {
                return false;
            }
            s.removed = true;
            removed++;
            return true;
        });
        regroup();
    }

    /**
     * Drops from {@link #databases} the statements no longer in {@link #series}, once they are a
     * quarter of them (readers skip those marked {@code removed} meanwhile).
     */
    private void regroup() {
        if (removed == 0 || removed < series.size() / 4 + 16) {
            return;
        }
        removed = 0;
        for (Iterator<List<Series>> it = databases.values().iterator(); it.hasNext();) {
            List<Series> statements = it.next();
            statements.removeIf(s -> s.removed);
            if (statements.isEmpty()) {
                it.remove();
            }
        }
    }

    /** Statements that ran in the window, per database; skip those marked {@code removed}. */
    Collection<List<Series>> databases() {
        return databases.values();
    }

    /** One statement that ran in the window, or null. */
    Series get(long dbid, long queryid) {
        return series.get(new Key(dbid, queryid));
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
        for (Interval interval : intervals) {
            ends[i++] = interval.end();
        }
        return ends;
    }

    /** Number of intervals in the window. */
    public int intervals() {
        return intervals.size();
    }

    /** Start of the oldest interval in the window (epoch seconds), NaN when empty. */
    double start() {
        return intervals.isEmpty() ? Double.NaN : intervals.peekFirst().start();
    }

    /** End of the newest interval in the window (epoch seconds), NaN when empty. */
    double end() {
        return intervals.isEmpty() ? Double.NaN : intervals.peekLast().end();
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
