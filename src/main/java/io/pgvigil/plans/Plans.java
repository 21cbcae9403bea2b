package io.pgvigil.plans;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The plans pgvigil has obtained so far ({@link Planner}), as one poll's snapshot holds them.
 *
 * @param enabled  {@code pgvigil.plans.enabled}
 * @param plans    the latest plan of each statement planned, oldest first (at most {@value Planner#MAX_PLANS})
 * @param failures statements that could not be planned at their latest try, and why
 * @param problem  what stops plans in general (a missing privilege), null when nothing does
 */
public record Plans(boolean enabled, List<Plan> plans, List<Failure> failures, String problem) {

    public static final Plans OFF = new Plans(false, List.of(), List.of(), null);

    public Plans {
        plans = List.copyOf(plans);
        failures = List.copyOf(failures);
    }

    /** A statement that could not be planned at {@code at}, and why. */
    public record Failure(long queryid, String datname, Instant at, String reason) {
    }

    /** The latest plan of a statement in a database. */
    public Optional<Plan> of(String datname, long queryid) {
        return plans.stream().filter(p -> p.queryid() == queryid && p.datname().equals(datname)).findFirst();
    }
}
