package io.pgvigil.plans;

/**
 * One node of a plan, as EXPLAIN (FORMAT JSON) gives it. Costs and row counts are the planner's
 * estimates for a generic plan (parameters unknown); nothing was executed.
 *
 * @param depth      0 for the top node
 * @param nodeType   {@code Node Type}: "Seq Scan", "Index Scan", "Hash Join", ...
 * @param schema     {@code Schema} of the relation scanned, null for a node without one
 * @param relation   {@code Relation Name}, null for a node without one
 * @param alias      {@code Alias}: how the node's conditions name the relation
 * @param index      {@code Index Name} of an index scan, null otherwise
 * @param filter     {@code Filter}, null when none
 * @param indexCond  {@code Index Cond} (or {@code Recheck Cond}), null when none
 * @param planRows   {@code Plan Rows}: rows the node is estimated to return
 * @param totalCost  {@code Total Cost}
 */
public record PlanNode(int depth, String nodeType, String schema, String relation, String alias, String index, String filter,
        String indexCond, double planRows, double totalCost) {

    /** "Seq Scan on public.events", "Index Scan using events_user_id on public.events", "Hash Join". */
    public String describe() {
        StringBuilder s = new StringBuilder(nodeType);
        if (index != null) {
            s.append(" using ").append(index);
        }
        if (relation != null) {
            s.append(" on ").append(schema == null ? "" : schema + ".").append(relation);
        }
        return s.toString();
    }
}
