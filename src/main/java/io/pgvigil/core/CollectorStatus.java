package io.pgvigil.core;

/**
 * How one collector fared in the latest poll.
 *
 * @param enabled         false when it cannot run on this server ({@code reason} says why)
 * @param success         true when it ran and returned a result this poll
 * @param durationSeconds time its query took, null when it did not run
 * @param error           the failure's cause, null unless it failed
 */
public record CollectorStatus(String collector, boolean enabled, String reason, boolean success,
        Double durationSeconds, String error) {
}
