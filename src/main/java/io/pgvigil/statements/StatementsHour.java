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
 * <p>The hour is cut in {@link #SLICES} slices of {@link #SLICE} aligned on the clock. The slice being
 * filled sums every statement that ran in it (at most {@link #OPEN_MAX} of them, pg_stat_statements.max's
 * default; more go to the slice's "others"); when the slice ends only its {@link #KEEP} statements with
 * the most execution time are kept, the rest summed into "others". Memory is therefore fixed whatever the
 * number of statements: 11 closed slices of 100 statements and one open slice (at most 5,000). A statement's numbers
 * lack what it did in a slice where it was not among the 100: the list says how much time "others" hold.
 * "The last hour" is the slices from the one 55 minutes before the latest poll on, i.e. between 55 and
 * 60 minutes; {@code since} is when the first interval counted began (later when pgvigil has run less).
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
        }

        Iterable<Sum> sums() {
            return kept != null ? List.of(kept) : open.values();
        }
    }

    /** The open slice last; closed ones before it, oldest first; at most {@link #SLICES} in all. */
    private final Slice[] ring = new Slice[SLICES];
    private int size;
    private Instant latest;
    private boolean counting;

    /** Adds a finished poll's interval. */
    public synchronized void record(PollState state) {
        if (state.snapshot() == null) {
            return;
        }
        Instant at = state.snapshot().at();
        latest = at;
        long id = Math.floorDiv(at.toEpochMilli(), SLICE.toMillis());
        Statements statements = state.snapshot().get(Statements.class).orElse(null);
        if (!state.up() || statements == null) {
            return; // nothing measured: the hour shows it as time not counted
        }
        Window window = state.window();
        Slice slice = open(id);
        boolean first = !counting;
        counting = true;
        if (!first || window.seconds() > 0) {
            // The first poll has nothing to hold: there is no interval before it.
            slice.held += window.statementsHeld();
        }
        if (window.seconds() == 0) {
            return;
        }
        Instant start = at.minusNanos(Math.round(window.seconds() * 1e9));
        if (slice.from == null) {
            slice.from = start;
        }
        slice.to = at;
        slice.countedSeconds += window.seconds();
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            Sum sum = slice.open.get(s.key());
            if (sum == null) {
                if (slice.open.size() >= OPEN_MAX) {
                    slice.otherStatements++;
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

    /** The slice {@code id}, opened (and the previous one closed, the oldest dropped) when it is new. */
    private Slice open(long id) {
        Slice last = size == 0 ? null : ring[size - 1];
        if (last != null && last.id == id) {
            return last;
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
     * @param since          when the first interval counted began; null when nothing was counted
     * @param asOf           the latest poll; null before the first
     * @param countedSeconds seconds of intervals whose statements were counted (less than asOf - since when
     *                       the target was down or statistics were reset)
     * @param held           entries left out of an interval because their counters could not be trusted
     * @param otherStatements statement-slices summed into "others" (not among a slice's 100)
     * @param otherExecSeconds their execution time
     */
    public record View(List<Item> items, Instant since, Instant asOf, double countedSeconds, int held,
            int otherStatements, long otherCalls, double otherExecSeconds) {
    }

    /**
     * The hour; {@code present} is the latest poll's pg_stat_statements (null when it was not read): an item
     * missing from it has left pg_stat_statements since.
     */
    public synchronized View view(Statements present) {
        Set<Key> keys = new HashSet<>();
        if (present != null) {
            present.entries().forEach(s -> keys.add(s.key()));
        }
        long latestId = latest == null ? Long.MIN_VALUE : Math.floorDiv(latest.toEpochMilli(), SLICE.toMillis());
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
