package io.pgvigil.checkpoints;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.Objects;

import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpointer;
import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpoints;

/**
 * The checkpoint counters over the last {@code window}, for {@code checkpoint_pressure}: a bounded
 * list of readings (time, checkpoints, requested, WAL position), thinned to one per 1/{@value #SLOTS}
 * of the window, so it holds at most {@value #SLOTS} + 2 readings whatever the poll interval. Each
 * new reading is compared with the newest one that is at least a window old (or the oldest kept,
 * while pgvigil has watched for less than a window).
 *
 * <p>What counts as a checkpoint ({@link Reading#of}):
 * <ul>
 * <li>PostgreSQL 18+, primary: {@code num_done}, the checkpoints performed. The timed ones skipped
 * on an idle server are not counted.</li>
 * <li>13-17, primary: {@code timed + requested}. The timed counter includes checkpoints skipped
 * because nothing was written since the last one (PostgreSQL cannot tell them apart before 18), so
 * an idle stretch lowers the share; a busy server, the one this check is about, skips none.</li>
 * <li>A standby: its restartpoints, which {@code max_wal_size} triggers the same way: on 13-16 the
 * checkpoint counters hold them; on 17+ {@code restartpoints_timed + restartpoints_req}.</li>
 * </ul>
 *
 * <p>The history starts again (and the interval has no value) when the counters were reset
 * ({@code stats_reset} changed, or a counter went backwards: {@code pg_stat_reset_shared}, a crash)
 * or the server's role changed (a promotion switches from restartpoints to checkpoints). A clean
 * restart keeps the counters (PostgreSQL saves them at shutdown), so the history goes on.
 */
final class CheckpointHistory {

    /** The window is kept at a resolution of window / SLOTS. */
    static final int SLOTS = 240;

    /**
     * One reading of the counters that matter.
     *
     * @param source         what is counted (primary checkpoints performed / started, standby restartpoints);
     *                       a change restarts the history
     * @param checkpoints    checkpoints counted (see the class comment)
     * @param requested      of which requested
     * @param walPosition    WAL position in bytes, null when unknown
     */
    record Reading(Instant at, String source, long checkpoints, long requested, Long walPosition,
            Double statsResetSeconds) {

        static Reading of(Instant at, Checkpointer c, boolean standby) {
            Checkpoints k = c.checkpoints();
            if (standby && k.restartpointsTimed() != null) {
                return new Reading(at, "restartpoints", k.restartpointsTimed() + k.restartpointsRequested(),
                        k.restartpointsRequested(), c.walPositionBytes(), k.statsResetSeconds());
            }
            if (!standby && k.done() != null) {
                return new Reading(at, "checkpoints performed", k.done(), k.requested(), c.walPositionBytes(),
                        k.statsResetSeconds());
            }
            return new Reading(at, standby ? "restartpoints (checkpoint counters)" : "checkpoints",
                    k.timed() + k.requested(), k.requested(), c.walPositionBytes(), k.statsResetSeconds());
        }
    }

    /**
     * What happened between {@code from} and the newest reading.
     *
     * @param seconds     how long the span is: the window, or less while the history is younger
     * @param checkpoints checkpoints counted in it (never fewer than {@code requested})
     * @param requested   of which requested
     * @param walBytes    WAL written in it, null when unknown
     */
    record Span(double seconds, long checkpoints, long requested, Long walBytes) {

        /** The requested share; 0 when there was no checkpoint. */
        double requestedShare() {
            return checkpoints == 0 ? 0 : (double) requested / checkpoints;
        }
    }

    private final Deque<Reading> kept = new ArrayDeque<>();
    private Reading last;

    /**
     * Adds a reading and returns the span over the window ending with it, or null when there is no
     * earlier reading to compare it with (the first, or the first after a reset or a role change).
     */
    synchronized Span add(Reading now, Duration window) {
        if (last != null && restarted(last, now)) {
            kept.clear();
        }
        last = now;
        if (kept.isEmpty()) {
            kept.add(now);
            return null;
        }
        Instant start = now.at().minus(window);
        // Keep the newest reading at or before the window's start as the baseline, drop older ones.
        while (kept.size() > 1 && !second().at().isAfter(start)) {
            kept.removeFirst();
        }
        Reading from = kept.getFirst();
        Duration resolution = window.dividedBy(SLOTS);
        if (!now.at().isBefore(kept.getLast().at().plus(resolution))) {
            kept.addLast(now);
        }
        long requested = now.requested() - from.requested();
        long checkpoints = Math.max(now.checkpoints() - from.checkpoints(), requested);
        Long wal = now.walPosition() == null || from.walPosition() == null || now.walPosition() < from.walPosition()
                ? null : now.walPosition() - from.walPosition();
        return new Span(Duration.between(from.at(), now.at()).toNanos() / 1e9, checkpoints, requested, wal);
    }

    private Reading second() {
        Iterator<Reading> it = kept.iterator();
        it.next();
        return it.next();
    }

    /** Readings kept (bounded by {@link #SLOTS} + 2). */
    synchronized int size() {
        return kept.size();
    }

    private static boolean restarted(Reading before, Reading now) {
        return !before.source().equals(now.source()) || !Objects.equals(before.statsResetSeconds(), now.statsResetSeconds())
                || now.checkpoints() < before.checkpoints() || now.requested() < before.requested();
    }
}
