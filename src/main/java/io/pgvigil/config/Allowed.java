package io.pgvigil.config;

/**
 * Message templates of the constraints on {@link PgvigilConfig}. SmallRye Config puts the full key in
 * front ({@code pgvigil.interval is PT0.5S: must be at least 1s}); {@code ${validatedValue}} is the value
 * as read (durations in ISO-8601, {@code PT0.5S} for {@code 500ms}).
 */
final class Allowed {

    private Allowed() {
    }

    private static final String DURATION = " (a duration such as 100ms, 15s, 5m or PT1M)";

    static final String AT_LEAST = "is ${validatedValue}: must be at least {value}";

    static final String AT_LEAST_1MS = "is ${validatedValue}: must be at least 1ms" + DURATION;

    static final String AT_LEAST_1S = "is ${validatedValue}: must be at least 1s" + DURATION;
    static final String AT_LEAST_1MIN = "is ${validatedValue}: must be at least 1m" + DURATION;

    static final String NOT_NEGATIVE = "is ${validatedValue}: must not be negative" + DURATION;

    static final String ABOVE_0_AT_MOST_1 = "is ${validatedValue}: must be above 0 and at most 1";

    static final String ABOVE_0 = "is ${validatedValue}: must be above 0";

    static final String FROM_2 = "is ${validatedValue}: must be at least 2";

    static final String FROM_1_TO_BELOW_100 = "is ${validatedValue}: must be from 1 to below 100";

    static final String MULTIPLE_ABOVE_1 = "is ${validatedValue}: must be above 1 (a multiple of the statement's baseline)";

    static final String CLEAR_MARGIN = "is ${validatedValue}: must be from 0 to below 1 (a share of the threshold)";
}
