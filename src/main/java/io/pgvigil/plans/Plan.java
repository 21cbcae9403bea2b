package io.pgvigil.plans;

import java.time.Instant;
import java.util.List;

/**
 * The generic plan of one statement in one database, obtained without executing it.
 *
 * @param queryid     the statement's {@code pg_stat_statements.queryid}
 * @param datname     the database it was planned in (the statement's own)
 * @param obtainedAt  when pgvigil planned it
 * @param method      {@code EXPLAIN (GENERIC_PLAN)} (16+) or {@code PREPARE + force_generic_plan} (13–15)
 * @param searchPath  the search_path it was planned under (the statement's role's and database's setting)
 * @param json        EXPLAIN's JSON output, as the server gave it
 * @param nodes       the plan's nodes, depth first
 * @param meanSeconds the statement's mean execution time when it was planned (a re-plan is due when it moves)
 * @param proposals   for each sequential scan with a filter: the index it would need, or why none is proposed
 * @param previousShape the shape of the statement's plan before the last change, null while it has not changed
 * @param changedAt   when pgvigil saw the shape change, null while it has not
 */
public record Plan(long queryid, String datname, Instant obtainedAt, String method, String searchPath, String json,
        List<PlanNode> nodes, double meanSeconds, List<IndexProposal> proposals, String previousShape,
        Instant changedAt) {

    public Plan {
        nodes = List.copyOf(nodes);
        proposals = proposals == null ? List.of() : List.copyOf(proposals);
    }

    /** The plan as indented text, one node per line with its conditions, like EXPLAIN's text format without costs. */
    public String text() {
        StringBuilder s = new StringBuilder();
        for (PlanNode n : nodes) {
            String indent = "  ".repeat(n.depth());
            s.append(indent).append(n.depth() == 0 ? "" : "-> ").append(n.describe())
                    .append(String.format(java.util.Locale.ROOT, "  (rows=%.0f)", n.planRows())).append('\n');
            if (n.indexCond() != null) {
                s.append(indent).append("     Index Cond: ").append(n.indexCond()).append('\n');
            }
            if (n.filter() != null) {
                s.append(indent).append("     Filter: ").append(n.filter()).append('\n');
            }
        }
        return s.toString();
    }

    /**
     * What the plan does, without costs: each node's type, relation and index, in order. Two plans
     * with the same shape read the same relations the same way.
     */
    public String shape() {
        StringBuilder s = new StringBuilder();
        for (PlanNode n : nodes) {
            if (s.length() > 0) {
                s.append(" > ");
            }
            s.append(n.describe());
        }
        return s.toString();
    }

    /**
     * This plan, remembering {@code before}'s shape when it differs (or what {@code before} remembered):
     * a plan shape is compared without costs, so a new estimate is not a change.
     */
    Plan after(Plan before) {
        if (before == null) {
            return this;
        }
        if (!before.shape().equals(shape())) {
            return new Plan(queryid, datname, obtainedAt, method, searchPath, json, nodes, meanSeconds, proposals,
                    before.shape(), obtainedAt);
        }
        return new Plan(queryid, datname, obtainedAt, method, searchPath, json, nodes, meanSeconds, proposals,
                before.previousShape(), before.changedAt());
    }

    /** The sequential scans of a table in this plan. */
    public List<PlanNode> seqScansOf(String schema, String relation) {
        return nodes.stream().filter(n -> n.nodeType().equals("Seq Scan") && relation.equals(n.relation())
                && (n.schema() == null || schema.equals(n.schema()))).toList();
    }
}
