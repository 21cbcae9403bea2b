package io.pgvigil.page;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.pgvigil.activity.SettingsCollector.ConnectionSettings;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;

/**
 * The values the page plots, over the last hour at poll resolution, in memory fixed at start-up: a ring
 * of {@link #capacity} polls (an hour of {@code pgvigil.interval}, at most {@link #MAX_POINTS}) holding
 * each poll's time, whether the target answered, its client connections and usable slots, and the
 * values of at most {@link #MAX_SERIES} findings (one float per poll each). A finding's series begins
 * when it opens: pgvigil does not keep the values of every statement, index and table, only of what is
 * open, so memory does not grow with the number of statements. A series is freed an hour after its
 * finding cleared, or sooner when a newly opened finding needs its place.
 */
@ApplicationScoped
public class PageHistory {

    /** How far back the page looks. */
    public static final Duration SPAN = Duration.ofHours(1);
    /** Most polls kept: an hour at a 5 s interval; with a shorter interval the ring covers less than an hour. */
    public static final int MAX_POINTS = 720;
    /** Most findings with a series at once. */
    public static final int MAX_SERIES = 100;

    private final int capacity;
    private final long[] atMillis;
    private final byte[] up;
    private final int[] clients;
    private final int[] usable;
    private final int[] open;
    private final float[][] values;
    private final String[] checks;
    private final String[] subjects;
    /** The last poll (a count of records) in which each series' finding was open; -1 for a free series. */
    private final long[] lastOpen;
    private final Map<String, Integer> seriesByKey = new HashMap<>();
    private long recorded;

    @Inject
    public PageHistory(PgvigilConfig config) {
        this(capacityFor(config.interval()));
    }

    public PageHistory(int capacity) {
        if (capacity < 2) {
            throw new IllegalArgumentException("capacity must be at least 2, not " + capacity);
        }
        this.capacity = capacity;
        atMillis = new long[capacity];
        up = new byte[capacity];
        clients = new int[capacity];
        usable = new int[capacity];
        open = new int[capacity];
        values = new float[MAX_SERIES][capacity];
        checks = new String[MAX_SERIES];
        subjects = new String[MAX_SERIES];
        lastOpen = new long[MAX_SERIES];
        Arrays.fill(lastOpen, -1);
    }

    /** Polls in an hour of {@code interval}, from 2 to {@link #MAX_POINTS}. */
    public static int capacityFor(Duration interval) {
        long polls = SPAN.toMillis() / Math.max(1, interval.toMillis());
        return (int) Math.max(2, Math.min(MAX_POINTS, polls));
    }

    public int capacity() {
        return capacity;
    }

    /** Adds a finished poll. */
    public synchronized void record(PollState state) {
        if (state.snapshot() == null) {
            return;
        }
        int slot = (int) (recorded % capacity);
        recorded++;
        atMillis[slot] = state.snapshot().at().toEpochMilli();
        up[slot] = (byte) (state.up() ? 1 : 0);
        Activity activity = state.snapshot().get(Activity.class).orElse(null);
        ConnectionSettings settings = state.snapshot().get(ConnectionSettings.class).orElse(null);
        clients[slot] = activity == null ? -1 : activity.clientBackends();
        usable[slot] = settings == null ? -1 : settings.usableSlots();
        open[slot] = state.up() ? state.open().size() : -1;
        for (float[] series : values) {
            series[slot] = Float.NaN;
        }
        boolean full = false;
        // The published findings (at most pgvigil.findings.max): the page cannot show the others.
        for (Finding f : state.findings()) {
            Integer i = seriesByKey.get(f.check() + '\u0000' + f.subject());
            if (i == null && !full) {
                i = newSeries(f.check(), f.subject());
                // Every series is taken: the rest of this poll's findings need not look again.
                full = i == null;
            }
            if (i != null) {
                values[i][slot] = (float) f.value();
                lastOpen[i] = recorded;
            }
        }
    }

    /** A new series for a finding; null when every series belongs to a finding open in the previous poll. */
    private Integer newSeries(String check, String subject) {
        String key = check + '\u0000' + subject;
        int free = -1;
        for (int s = 0; s < MAX_SERIES; s++) {
            if (lastOpen[s] < 0) {
                free = s;
                break;
            }
            // A series whose finding was not open in the previous poll; the one cleared longest ago goes first.
            if (lastOpen[s] < recorded - 1 && (free < 0 || lastOpen[s] < lastOpen[free])) {
                free = s;
            }
        }
        if (free < 0) {
            return null;
        }
        if (checks[free] != null) {
            seriesByKey.remove(checks[free] + '\u0000' + subjects[free]);
        }
        Arrays.fill(values[free], Float.NaN);
        checks[free] = check;
        subjects[free] = subject;
        lastOpen[free] = recorded;
        seriesByKey.put(key, free);
        return free;
    }

    /** One poll as the page plots it. Counts are null when not measured. */
    public record Point(Instant at, boolean up, Integer clientBackends, Integer usableSlots, Integer findingsOpen) {
    }

    /** One finding's values, aligned with the points; null where it was not open. */
    public record Series(String check, String subject, List<Double> values) {
    }

    public record View(List<Point> points, List<Series> series) {
    }

    /** Everything held, oldest first; series of findings that were open at least once in the points kept. */
    public synchronized View view() {
        int n = (int) Math.min(recorded, capacity);
        long first = recorded - n;
        List<Point> points = new ArrayList<>(n);
        for (long p = first; p < recorded; p++) {
            int slot = (int) (p % capacity);
            points.add(new Point(Instant.ofEpochMilli(atMillis[slot]), up[slot] == 1, count(clients[slot]),
                    count(usable[slot]), count(open[slot])));
        }
        List<Series> series = new ArrayList<>();
        for (int s = 0; s < MAX_SERIES; s++) {
            if (lastOpen[s] <= first) {
                continue;
            }
            List<Double> v = new ArrayList<>(n);
            for (long p = first; p < recorded; p++) {
                float x = values[s][(int) (p % capacity)];
                // Through its shortest decimal form: 0.2f reads 0.2, not 0.20000000298023224.
                v.add(Float.isNaN(x) ? null : Double.valueOf(Float.toString(x)));
            }
            series.add(new Series(checks[s], subjects[s], v));
        }
        return new View(points, series);
    }

    private static Integer count(int v) {
        return v < 0 ? null : v;
    }
}
