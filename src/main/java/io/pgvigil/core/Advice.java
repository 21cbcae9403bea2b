package io.pgvigil.core;

/**
 * What a finding proposes to run, as structured data beside its message: the SQL, and whether
 * pgvigil checked that it would help.
 *
 * @param sql      the statement to run, e.g. {@code CREATE INDEX CONCURRENTLY ON public.orders (user_id)}
 * @param verified true when a hypothetical index (hypopg) made the planner use it and halved the plan's
 *                 cost; false when that was not tried (hypopg is not installed) or did not hold
 * @param how      how it was checked, or why not, in a sentence
 */
public record Advice(String sql, boolean verified, String how) {
}
