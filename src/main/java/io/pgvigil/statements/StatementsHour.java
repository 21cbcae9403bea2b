package io.pgvigil.statements;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;

import io.pgvigil.core.PollState;
import io.pgvigil.core.Window;
import io.pgvigil.statements.StatStatementsCollector.Key;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;

/**
 * What each statement did over the last hour, for the page's "top statements of the hour": the sum of
 * the per-interval deltas pgvigil already computes ({@link StatementDeltas}), so a pg_stat_statements
 * reset, an eviction or a server restart costs the one interval whose counters cannot be trusted (counted
 * in {@code held}) and never a negative or doubled number, and a statement that has since left
 * pg_stat_statements keeps what it did (and its text) until its hour is over.
 *
 * <p>The hour is cut in {@link #SLICES} slices of {@link #SLICE} aligned on the clock; an interval goes
 * whole into the slice it began in. The slice being filled sums every statement that ran in it (at most
 * {@link #OPEN_MAX} of them, pg_stat_statements.max's default; more go to the slice's "others"); when the
 * slice ends only its {@link #KEEP} statements with the most execution time are kept, the rest summed into
 * "others". Memory is therefore fixed whatever the number of statements: 11 closed slices of 100 statements
 * and one open slice (at most 5,000, and the keys of at most 5,000 more summed as others). A statement's
 * numbers lack what it did in a slice where it was not among the 100: the list says how much time "others"
 * hold.
 *
 * <p>"The last hour" is the intervals that began in the slice of the latest poll or the 11 before it, so
 * {@code since} (when the first of them began) is at most 60 minutes before the latest poll, and about 55
 * to 60 when pgvigil has counted that long. An interval is not counted (its seconds are missing from
 * {@code countedSeconds}) when none of its statements could be differenced (the first poll after a
 * pg_stat_statements reset, a server restart or a poll that did not read pg_stat_statements) or when it
 * began before the hour's oldest slice (the first poll after a long outage of pgvigil's own, in which the
 * server ran on: what ran during those hours is not "the last hour").
 */
@ApplicationScoped
public class StatementsHour {

    public static final Duration SLICE = Duration.ofMinutes(5);
    public static final int SLICES = 12;
    /** Statements kept per closed slice. */
    public static final int KEEP = 100;
    /** Most statements summed in the open slice (pg_stat_statements.max's default). */
    public static final int OPEN_MAX = 5000;

    /** One statement's sums in a slice; the text and names are its latest reading's. */
    static final class Sum {
        final Key key;
        String datname;
        String user;
        String text;
        long calls;
        double execSeconds;
        long rows;
        long tempBytes;

        Sum(Key key) {
            this.key = key;
        }

        void add(Sum o) {
            calls += o.calls;
            execSeconds += o.execSeconds;
            rows += o.rows;
            tempBytes += o.tempBytes;
            if (o.text != null) {
                text = o.text;
            }
            datname = o.datname;
            user = o.user;
        }
    }

    static final class Slice {
        final long id;
        Instant from;
        Instant to;
        double countedSeconds;
        int held;
        final Map<Key, Sum> open = new HashMap<>();
        /** Statements summed as others because the open slice was full, each counted once (at most OPEN_MAX of them). */
        Set<Key> overflow;
        Sum[] kept;
        int otherStatements;
        long otherCalls;
        double otherExecSeconds;

        Slice(long id) {
            this.id = id;
        }

        void close() {
            List<Sum> all = new ArrayList<>(open.values());
            all.sort(Comparator.comparingDouble((Sum s) -> s.execSeconds).reversed());
            kept = all.subList(0, Math.min(KEEP, all.size())).toArray(new Sum[0]);
            for (Sum s : all.subList(kept.length, all.size())) {
                otherStatements++;
                otherCalls += s.calls;
                otherExecSeconds += s.execSeconds;
            }
            open.clear();
            overflow = null;
        }

        Iterable<Sum> sums() {
            return kept != null ? List.of(kept) : open.values();
        }
    }

    /** The open slice last; closed ones before it, oldest first; at most {@link #SLICES} in all. */
    private final Slice[] ring = new Slice[SLICES];
    private final int openMax;
    private int size;
    private Instant latest;
    /** The latest recorded poll's pg_stat_statements, null when it was not read: what is still in it. */
    private Statements present;
    private boolean counting;

    public StatementsHour() {
        this(OPEN_MAX);
    }

    /** With another limit on the open slice's statements (a test's few instead of 5,000). */
    StatementsHour(int openMax) {
        this.openMax = openMax;
    }

    /** Adds a finished poll's interval. */
    public synchronized void record(PollState state) {
        if (state.snapshot() == null) {
            return;
        }
        Instant at = state.snapshot().at();
        latest = at;
        Statements statements = state.snapshot().get(Statements.class).orElse(null);
        present = state.up() ? statements : null;
        if (!state.up() || statements == null) {
            return; // nothing measured: the hour shows it as time not counted
        }
        Window window = state.window();
        boolean first = !counting;
        counting = true;
        double seconds = window.seconds();
        long id = sliceOf(at);
        Instant start = at.minusNanos(Math.round(seconds * 1e9));
        long startId = sliceOf(start);
        // Every entry held: a reset (or no earlier reading) left nothing of the interval to count.
        boolean allHeld = window.statements().isEmpty() && window.statementsHeld() > 0
                && window.statementsHeld() >= statements.entries().size();
        boolean counted = seconds > 0 && !allHeld && startId > id - SLICES;
        if (first && seconds == 0) {
            return; // the first poll has nothing to hold: there is no interval before it
        }
        Slice slice = open(counted ? startId : id);
        slice.held += window.statementsHeld();
        if (!counted) {
            return;
        }
        if (slice.from == null) {
            slice.from = start;
        }
        slice.to = at;
        slice.countedSeconds += seconds;
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            Sum sum = slice.open.get(s.key());
            if (sum == null) {
                if (slice.open.size() >= openMax) {
                    if (slice.overflow == null) {
                        slice.overflow = new HashSet<>();
                    }
                    // Once per slice; past OPEN_MAX of them a statement may be counted once per poll.
                    if (!slice.overflow.contains(s.key())) {
                        slice.otherStatements++;
                        if (slice.overflow.size() < OPEN_MAX) {
                            slice.overflow.add(s.key());
                        }
                    }
                    slice.otherCalls += d.calls();
                    slice.otherExecSeconds += d.execSeconds();
                    continue;
                }
                sum = new Sum(s.key());
                slice.open.put(s.key(), sum);
            }
            sum.calls += d.calls();
            sum.execSeconds += d.execSeconds();
            sum.rows += d.rows();
            sum.tempBytes += d.tempBlksWritten() * statements.blockSize();
            sum.datname = s.datname();
            sum.user = s.user();
            if (s.text() != null) {
                sum.text = s.text();
            }
        }
    }

    private static long sliceOf(Instant at) {
        return Math.floorDiv(at.toEpochMilli(), SLICE.toMillis());
    }

    /** The slice {@code id}, opened (and the previous one closed, the oldest dropped) when it is new. */
    private Slice open(long id) {
        Slice last = size == 0 ? null : ring[size - 1];
        if (last != null && last.id >= id) {
            return last; // (the same slice; or a clock set back: the latest slice takes it)
        }
        if (last != null) {
            last.close();
        }
        // Slices that fell out of the hour go; the ring keeps SLICES - 1 closed ones and the new one.
        int drop = 0;
        while (drop < size && (ring[drop].id <= id - SLICES || size - drop >= SLICES)) {
            drop++;
        }
        System.arraycopy(ring, drop, ring, 0, size - drop);
        for (int i = size - drop; i < size; i++) {
            ring[i] = null;
        }
        size -= drop;
        Slice slice = new Slice(id);
        ring[size++] = slice;
        return slice;
    }

    /** One statement over the hour. */
    public record Item(Key key, String database, String user, String text, long calls, double execSeconds, long rows,
            long tempBytes, boolean inPgStatStatements) {
    }

    /**
     * The hour as of the latest poll.
     *
     * @param since          when the first interval counted began (at most an hour before asOf); null when
     *                       nothing was counted
     * @param asOf           the latest poll; null before the first
     * @param countedSeconds seconds of intervals whose statements were counted: less than asOf - since when an
     *                       interval was not (the target was down and restarted, pg_stat_statements was reset
     *                       or not read)
     * @param held           entries left out of an interval because their counters could not be trusted
     * @param otherStatements statement-slices summed into "others" (not among a slice's 100)
     * @param otherExecSeconds their execution time
     */
    public record View(List<Item> items, Instant since, Instant asOf, double countedSeconds, int held,
            int otherStatements, long otherCalls, double otherExecSeconds) {
    }

    /**
     * The hour as of the latest recorded poll, an item marked as gone when that poll's pg_stat_statements no
     * longer has it: one lock, so a statement recorded by a poll that ended while the caller read is not
     * compared with an older poll's list.
     */
    public synchronized View view() {
        return view(present);
    }

    /**
     * The hour; {@code present} is a pg_stat_statements reading (null when it was not read) that an item
     * missing from has left pg_stat_statements since (the latest recorded one: {@link #view()}).
     */
    public synchronized View view(Statements present) {
        Set<Key> keys = new HashSet<>();
        if (present != null) {
            present.entries().forEach(s -> keys.add(s.key()));
        }
        long latestId = latest == null ? Long.MIN_VALUE : sliceOf(latest);
        Map<Key, Sum> merged = new HashMap<>();
        Instant since = null;
        double counted = 0;
        int held = 0;
        int otherStatements = 0;
        long otherCalls = 0;
        double otherExec = 0;
        for (int i = 0; i < size; i++) {
            Slice s = ring[i];
            if (s.id <= latestId - SLICES) {
                continue;
            }
            if (s.from != null && (since == null || s.from.isBefore(since))) {
                since = s.from;
            }
            counted += s.countedSeconds;
            held += s.held;
            otherStatements += s.otherStatements;
            otherCalls += s.otherCalls;
            otherExec += s.otherExecSeconds;
            for (Sum sum : s.sums()) {
                merged.computeIfAbsent(sum.key, Sum::new).add(sum);
            }
        }
        List<Item> items = new ArrayList<>(merged.size());
        for (Sum s : merged.values()) {
            items.add(new Item(s.key, s.datname, s.user, s.text, s.calls, s.execSeconds, s.rows, s.tempBytes,
                    present == null || keys.contains(s.key)));
        }
        return new View(items, since, latest, counted, held, otherStatements, otherCalls, otherExec);
    }
}
