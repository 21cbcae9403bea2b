package io.pgvigil.plans;

import java.util.List;

/**
 * What a sequential scan with a filter would need: a btree index on the filter's columns (equality
 * columns first, then one range column), partial when part of the filter compares with a constant;
 * or, when no index should be proposed, why not.
 *
 * @param schema    the table's schema
 * @param table     the table scanned
 * @param filter    the scan's filter as the plan gives it
 * @param columns   the index's key columns, empty when nothing is proposed
 * @param leading   how many of them an existing index must lead with (in any order) to serve the filter as well
 * @param predicate the partial index's WHERE clause, null for a full index
 * @param sql       {@code CREATE INDEX CONCURRENTLY ...}, null when nothing is proposed
 * @param reason    why nothing is proposed, null when something is
 * @param verified  a hypothetical index (hypopg) was used by the planner and at least halved the plan's cost
 * @param how       how the proposal was checked, or why it was not
 */
public record IndexProposal(String schema, String table, String filter, List<String> columns, int leading,
        String predicate, String sql, String reason, boolean verified, String how) {

    public IndexProposal {
        columns = List.copyOf(columns);
    }

    public boolean proposes() {
        return sql != null;
    }

    /** Not proposed after all: what was tried showed it would not help. */
    IndexProposal rejected(String why) {
        return new IndexProposal(schema, table, filter, List.of(), 0, null, null, why, false, why);
    }

    IndexProposal verified(boolean verified, String how) {
        return new IndexProposal(schema, table, filter, columns, leading, predicate, sql, reason, verified, how);
    }
}
