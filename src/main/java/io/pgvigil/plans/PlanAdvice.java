package io.pgvigil.plans;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.pgvigil.core.Advice;
import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;

/**
 * What the plans say about a table that is read by sequential scans: the statements whose generic
 * plans scan it sequentially, with their filters, and the index to create, checked again against the
 * indexes the table has now (one created since the plan needs no proposing).
 *
 * @param text   a sentence for the finding's message, null when no plan scans the table
 * @param advice the proposed index as data, null when none is proposed
 */
public record PlanAdvice(String text, Advice advice) {

    static final int MAX_STATEMENTS_NAMED = 3;

    public static PlanAdvice of(Plans plans, String datname, Table table, List<Index> indexes) {
        Map<Long, String> filters = new LinkedHashMap<>();
        List<IndexProposal> proposals = new ArrayList<>();
        for (Plan plan : plans.plans()) {
            if (!plan.datname().equals(datname)) {
                continue;
            }
            List<PlanNode> scans = plan.seqScansOf(table.schema(), table.name());
            if (scans.isEmpty()) {
                continue;
            }
            filters.put(plan.queryid(), scans.get(0).filter());
            plan.proposals().stream().filter(p -> p.table().equals(table.name()) && p.schema().equals(table.schema()))
                    .forEach(proposals::add);
        }
        if (filters.isEmpty()) {
            return new PlanAdvice(null, null);
        }
        StringBuilder text = new StringBuilder("Statements whose generic plans read it sequentially: ");
        filters.entrySet().stream().limit(MAX_STATEMENTS_NAMED).forEach(e -> text.append(e.getKey())
                .append(e.getValue() == null ? " (no filter)" : " (filter " + e.getValue() + ")").append(", "));
        text.setLength(text.length() - 2);
        if (filters.size() > MAX_STATEMENTS_NAMED) {
            text.append(" and ").append(filters.size() - MAX_STATEMENTS_NAMED).append(" more");
        }
        text.append(". ");
        if (table.withoutPlannerStatistics() || table.staleStatistics()) {
            // The plans' estimates (and the selectivity an index proposal rests on) come from these statistics.
            text.append("Its planner statistics are missing or stale: run ANALYZE ")
                    .append(RelationSubjects.qualified(table.schema(), table.name()))
                    .append(" first; pgvigil proposes no index until the plans rest on fresh statistics");
            return new PlanAdvice(text.toString(), null);
        }
        for (IndexProposal p : proposals) {
            if (!p.proposes()) {
                continue;
            }
            Index existing = IndexAdvisor.serving(p.columns(), p.leading(), indexes);
            if (existing != null) {
                text.append("Index ").append(existing.name()).append(" now serves this filter: the next plan shows"
                        + " whether it is used");
                return new PlanAdvice(text.toString(), null);
            }
            text.append("Proposed: ").append(p.sql()).append(" (").append(p.how()).append(')');
            return new PlanAdvice(text.toString(), new Advice(p.sql(), p.verified(), p.how()));
        }
        String reason = proposals.stream().filter(p -> !p.proposes()).map(IndexProposal::reason).findFirst()
                .orElse("no index is proposed");
        text.append(Character.toUpperCase(reason.charAt(0))).append(reason.substring(1)).append(" (table ")
                .append(RelationSubjects.qualified(table.schema(), table.name())).append(')');
        return new PlanAdvice(text.toString(), null);
    }
}
