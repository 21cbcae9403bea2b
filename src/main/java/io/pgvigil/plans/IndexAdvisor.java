package io.pgvigil.plans;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;

/**
 * Proposes a btree index for a sequential scan from its plan's filter, checked against the table's
 * existing indexes and the planner's estimate. Pure logic: the filter text comes from EXPLAIN, the
 * indexes and row counts from the database visit.
 *
 * <p>The filter is read as conditions joined by AND. A condition on a plain column compared with a
 * parameter ({@code = $1}, {@code = ANY ($1)}) is an equality column; {@code <, <=, >, >=} with a
 * parameter a range column; a plain column compared with a constant ({@code status = 'open'}) goes into
 * the partial index's WHERE clause. Anything else (OR, a function on the column, LIKE, a comparison
 * between two columns) makes no proposal rather than a wrong one. The index is proposed only when the
 * scan is selective (the planner expects at most {@value #MAX_SELECTIVITY} of the table's rows) and no
 * valid index already leads with the same column.
 */
public final class IndexAdvisor {

    /** Largest share of the table's rows the scan may return for an index to be worth proposing. */
    static final double MAX_SELECTIVITY = 0.05;

    private static final Pattern CONDITION = Pattern.compile(
            "^\\(*(?:\"?([A-Za-z_][\\w$]*)\"?\\.)?\"?([A-Za-z_][\\w$]*)\"?\\)?(?:::[a-z ]+(?:\\[\\])?)?\\s*"
                    + "(=|<=|>=|<|>)\\s*(ANY\\s*)?(.+?)\\)*$", Pattern.DOTALL);
    private static final Pattern PARAM = Pattern.compile("^\\(*\\$\\d+\\)*(?:::[a-z ]+(?:\\[\\])?)?\\)*$");
    private static final Pattern CONSTANT = Pattern.compile(
            "^\\(*(?:'(?:[^']|'')*'|-?\\d+(?:\\.\\d+)?|true|false)(?:::[a-z ]+(?:\\[\\])?)?\\)*$");

    private IndexAdvisor() {
    }

    public static IndexProposal propose(PlanNode scan, Table table, List<Index> indexes) {
        String schema = table.schema();
        String name = table.name();
        String filter = scan.filter();
        if (filter == null) {
            return none(schema, name, null, "the scan has no filter: it reads the whole table on purpose");
        }
        double rows = Math.max(table.reltuples(), table.liveRows());
        if (rows > 0 && scan.planRows() > MAX_SELECTIVITY * rows) {
            return none(schema, name, filter, String.format(Locale.ROOT, "the planner expects the filter to match %.0f of"
                    + " %.0f rows (%.0f%%): an index would not beat the sequential scan", scan.planRows(), rows,
                    100 * scan.planRows() / rows));
        }
        List<String> parts = conjuncts(strip(filter));
        if (parts == null) {
            return none(schema, name, filter, "the filter has OR or a form pgvigil does not read; no index is proposed");
        }
        Set<String> equality = new LinkedHashSet<>();
        Set<String> range = new LinkedHashSet<>();
        List<String> constant = new ArrayList<>();
        Set<String> constantColumns = new LinkedHashSet<>();
        for (String part : parts) {
            Matcher m = CONDITION.matcher(part.trim());
            if (!m.matches() || (m.group(1) != null && scan.alias() != null && !m.group(1).equals(scan.alias()))) {
                return none(schema, name, filter, "the condition " + part.trim() + " is not a plain column compared with"
                        + " a value (a function or cast on the column needs an expression index, LIKE a pattern"
                        + " index); no index is proposed");
            }
            String column = m.group(2);
            String operator = m.group(3);
            boolean any = m.group(4) != null;
            String value = m.group(5).trim();
            if (PARAM.matcher(value).matches()) {
                if (operator.equals("=")) {
                    equality.add(column);
                } else if (!any) {
                    range.add(column);
                }
            } else if (CONSTANT.matcher(value).matches() && operator.equals("=") && !any) {
                constant.add(unqualified(part.trim(), m.group(1)));
                constantColumns.add(column);
            } else {
                return none(schema, name, filter, "the condition " + part.trim() + " compares with something other than a"
                        + " parameter or a constant; no index is proposed");
            }
        }
        List<String> columns = new ArrayList<>(equality);
        range.stream().filter(c -> !equality.contains(c)).findFirst().ifPresent(columns::add);
        String predicate = constant.isEmpty() ? null : "(" + String.join(" AND ", constant) + ")";
        if (columns.isEmpty()) {
            columns.addAll(constantColumns);
            predicate = null;
        }
        if (columns.isEmpty()) {
            return none(schema, name, filter, "the filter names no column an index could serve");
        }
        for (Index index : indexes) {
            if (index.valid() && !index.beingBuilt() && "btree".equals(index.method()) && !index.keyAttnums().isEmpty()
                    && index.keyAttnums().get(0) != 0 && index.columns() != null && !index.columns().isEmpty()
                    && index.columns().get(0).equals(columns.get(0))) {
                return none(schema, name, filter, "index " + index.name() + " already leads with " + columns.get(0)
                        + ", yet the planner chose a sequential scan: run ANALYZE " + RelationSubjects.qualified(schema, name)
                        + " and check the plan again before adding anything");
            }
        }
        String sql = "CREATE INDEX CONCURRENTLY ON " + RelationSubjects.qualified(schema, name) + " ("
                + String.join(", ", columns.stream().map(IndexAdvisor::identifier).toList()) + ")"
                + (predicate == null ? "" : " WHERE " + predicate) + ";";
        return new IndexProposal(schema, name, filter, columns, predicate, sql, null, false,
                "not verified: the hypopg extension is not installed in this database");
    }

    private static IndexProposal none(String schema, String table, String filter, String reason) {
        return new IndexProposal(schema, table, filter, List.of(), null, null, reason, false, reason);
    }

    /** The filter without its outer parentheses. */
    static String strip(String filter) {
        String f = filter.trim();
        while (f.startsWith("(") && f.endsWith(")") && closing(f, 0) == f.length() - 1) {
            f = f.substring(1, f.length() - 1).trim();
        }
        return f;
    }

    /** Top-level AND-ed parts; null when an OR is at the top level. */
    static List<String> conjuncts(String filter) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        boolean quoted = false;
        for (int i = 0; i < filter.length(); i++) {
            char c = filter.charAt(i);
            if (c == '\'') {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')') {
                depth--;
            } else if (!quoted && depth == 0 && filter.startsWith(" AND ", i)) {
                parts.add(strip(filter.substring(start, i)));
                start = i + 5;
            } else if (!quoted && depth == 0 && filter.startsWith(" OR ", i)) {
                return null;
            }
        }
        parts.add(strip(filter.substring(start)));
        for (String part : parts) {
            if (part.contains(" OR ")) {
                return null;
            }
        }
        return parts;
    }

    private static int closing(String s, int open) {
        int depth = 0;
        boolean quoted = false;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'') {
                quoted = !quoted;
            } else if (!quoted && c == '(') {
                depth++;
            } else if (!quoted && c == ')' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    /** A condition without its relation qualifier, for a partial index's WHERE clause. */
    private static String unqualified(String condition, String qualifier) {
        return qualifier == null ? condition : condition.replace(qualifier + ".", "").replace("\"" + qualifier + "\".", "");
    }

    private static String identifier(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") ? name : '"' + name.replace("\"", "\"\"") + '"';
    }
}
