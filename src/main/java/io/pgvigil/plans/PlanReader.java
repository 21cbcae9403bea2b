package io.pgvigil.plans;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads EXPLAIN (VERBOSE, FORMAT JSON) output into {@link PlanNode}s, depth first. */
final class PlanReader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PlanReader() {
    }

    static List<PlanNode> nodes(String json) {
        try {
            JsonNode root = JSON.readTree(json);
            JsonNode plan = root.isArray() ? root.get(0).get("Plan") : root.get("Plan");
            if (plan == null) {
                throw new IllegalArgumentException("EXPLAIN output without a Plan");
            }
            List<PlanNode> nodes = new ArrayList<>();
            walk(plan, 0, nodes);
            return nodes;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("EXPLAIN output is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static void walk(JsonNode node, int depth, List<PlanNode> nodes) {
        String indexCond = text(node, "Index Cond");
        nodes.add(new PlanNode(depth, text(node, "Node Type"), text(node, "Schema"), text(node, "Relation Name"),
                text(node, "Alias"), text(node, "Index Name"), text(node, "Filter"), indexCond == null ? text(node, "Recheck Cond") : indexCond,
                node.path("Plan Rows").asDouble(), node.path("Total Cost").asDouble()));
        for (JsonNode child : node.path("Plans")) {
            walk(child, depth + 1, nodes);
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
