package io.pgvigil.http;

import java.time.Duration;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;

/**
 * The 503 answers of the lists: pgvigil's rule is that no data is not "fine", so a list that has
 * nothing to show because nothing was measured says so, with a machine-readable {@code reason},
 * instead of answering an empty list that reads as a healthy server.
 */
public final class NoData {

    private NoData() {
    }

    /**
     * A 503 unless the latest poll reached the target: before the first poll has finished
     * ({@code no-poll-yet}) or while the target cannot be reached ({@code target-down}, with the
     * error and when a poll last reached it).
     */
    public static void requireTarget(PollState state, Duration interval) {
        if (state.snapshot() == null) {
            throw unavailable(Problem.noData(Problem.NO_POLL_YET, "pgvigil has not finished its first poll of the "
                    + "target yet (it polls every " + seconds(interval) + ")", null, null, null), interval);
        }
        if (!state.up()) {
            String since = state.lastSuccessAt() == null ? "since pgvigil started"
                    : "since " + state.lastSuccessAt() + " (the last poll that reached it)";
            throw unavailable(Problem.noData(Problem.TARGET_DOWN, "the target cannot be reached: no poll has reached "
                    + "it " + since + "; pgvigil retries every " + seconds(interval) + ". Last error: " + state.error(),
                    null, state.error(), state.lastSuccessAt()), interval);
        }
    }

    /**
     * A 503 unless {@code collector} ran and succeeded in the latest poll: off on this server
     * ({@code collector-off}, with the reason it gives) or failed ({@code collector-failed}, with its error).
     */
    public static void requireCollector(PollState state, String collector, Duration interval) {
        CollectorStatus status = state.collectors().stream().filter(c -> c.collector().equals(collector)).findFirst()
                .orElse(null);
        if (status == null || !status.enabled()) {
            String reason = status == null ? "it is not part of this build" : status.reason();
            // Off is a property of the server (an extension, a version, the role): retrying will not help.
            throw collectorOff(collector, "the " + collector + " collector is off: " + reason);
        }
        if (!status.success()) {
            throw collectorFailed(collector, "the " + collector + " collector failed in the latest poll (pgvigil "
                    + "retries every " + seconds(interval) + ")", status.error(), interval);
        }
    }

    /** A 503 {@code collector-off}: what the answer needs is not collected on this server or by this configuration. */
    public static WebApplicationException collectorOff(String collector, String detail) {
        return Problem.noData(Problem.COLLECTOR_OFF, detail, collector, null, null).exception();
    }

    /** A 503 {@code collector-failed}, with the error. */
    public static WebApplicationException collectorFailed(String collector, String detail, String error,
            Duration interval) {
        return unavailable(Problem.noData(Problem.COLLECTOR_FAILED, detail + ": " + error, collector, error, null),
                interval);
    }

    /** A 503 {@code no-interval-yet}: per-interval numbers need two polls that reached the target. */
    public static WebApplicationException noIntervalYet(String what, Duration interval) {
        return unavailable(Problem.noData(Problem.NO_INTERVAL_YET, what + " are measured between two polls that "
                + "reach the target, and the latest poll is the first since pgvigil started or the server restarted; "
                + "the next poll (in " + seconds(interval) + ") has them", null, null, null), interval);
    }

    /** The problem with a {@code Retry-After} of one poll interval: what it reports can change by the next poll. */
    private static WebApplicationException unavailable(Problem problem, Duration interval) {
        long retry = Math.max(1, (interval.toMillis() + 999) / 1000);
        return new WebApplicationException(problem.detail(),
                Response.fromResponse(problem.response()).header("Retry-After", retry).build());
    }

    static String seconds(Duration interval) {
        return interval.toMillis() % 1000 == 0 ? interval.toSeconds() + "s" : interval.toMillis() / 1000.0 + "s";
    }
}
