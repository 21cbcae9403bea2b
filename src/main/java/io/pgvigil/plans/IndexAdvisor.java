package io.pgvigil.plans;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
 * the partial index's WHERE clause. Anything else (OR, a function or a cast on the column other than
 * {@code varchar::text}, LIKE, a comparison between two columns) makes no proposal rather than a wrong
 * one. The index is proposed only for a table of at least {@value #MIN_ROWS} rows, when the scan is
 * selective (the planner expects at most {@value #MAX_SELECTIVITY} of the table's rows), and when no
 * valid, complete btree index already leads with the same equality columns (in any order).
 */
public final class IndexAdvisor {

    /** Largest share of the table's rows the scan may return for an index to be worth proposing. */
    static final double MAX_SELECTIVITY = 0.05;

    /**
     * A condition: an optional relation qualifier, a column (plain or "quoted"), an optional cast of
     * the column, an operator, ANY, the value compared with.
     */
    private static final Pattern CONDITION = Pattern.compile(
            "^\\(*(?:(?:\"(?:[^\"]|\"\")+\"|[A-Za-z_][\\w$]*)\\.)?(\"(?:[^\"]|\"\")+\"|[A-Za-z_][\\w$]*)\\)?"
                    + "(::[a-z ]+(?:\\[\\])?)?\\s*(=|<=|>=|<|>)\\s*(ANY\\s*)?(.+?)\\)*$", Pattern.DOTALL);
    private static final Pattern QUALIFIER = Pattern.compile("^\\(*(\"(?:[^\"]|\"\")+\"|[A-Za-z_][\\w$]*)\\.");
    /** A parameter, or an array of parameters ({@code ARRAY[$1, $2]}, an IN list), with an optional cast. */
    private static final Pattern PARAM = Pattern.compile(
            "^\\(*(?:\\$\\d+|ARRAY\\[\\$\\d+(?:\\s*,\\s*\\$\\d+)*\\])\\)*(?:::[a-z ]+(?:\\[\\])?)?\\)*$");
    /** Column types a {@code ::text} cast leaves indexable (the index on the column serves it). */
    private static final Set<String> TEXT_TYPES = Set.of("text", "character varying", "character", "name");
    /** Tables with fewer rows than this are not worth an index proposal. */
    static final double MIN_ROWS = 1000;
    private static final Pattern CONSTANT = Pattern.compile(
            "^\\(*(?:'(?:[^']|'')*'|-?\\d+(?:\\.\\d+)?|true|false)(?:::[a-z ]+(?:\\[\\])?)?\\)*$");

    private IndexAdvisor() {
    }

    /**
     * @param columnTypes the table's column types by name ({@code format_type}), to tell a cast that
     *                    leaves the column indexable ({@code varchar::text}) from one that does not; empty
     *                    when unknown, and then every cast on a column refuses a proposal
     */
    public static IndexProposal propose(PlanNode scan, Table table, List<Index> indexes, Map<String, String> columnTypes) {
        String schema = table.schema();
        String name = table.name();
        String filter = scan.filter();
        if (filter == null) {
            return none(schema, name, null, "the scan has no filter: it reads the whole table on purpose");
        }
        double rows = Math.max(table.reltuples(), table.liveRows());
        if (rows < MIN_ROWS) {
            return none(schema, name, filter, String.format(Locale.ROOT, "the table has %.0f rows: too few to need an index", rows));
        }
        if (scan.planRows() > MAX_SELECTIVITY * rows) {
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
            String condition = part.trim();
            Matcher m = CONDITION.matcher(condition);
            Matcher q = QUALIFIER.matcher(condition);
            String qualifier = q.find() ? unquote(q.group(1)) : null;
            if (!m.matches() || (qualifier != null && scan.alias() != null && !qualifier.equals(scan.alias()))) {
                return none(schema, name, filter, "the condition " + condition + " is not a plain column compared with"
                        + " a value (a function on the column needs an expression index, LIKE a pattern index); no index"
                        + " is proposed");
            }
            String column = unquote(m.group(1));
            String cast = m.group(2) == null ? null : m.group(2).trim();
            String type = columnTypes.get(column) == null ? null : columnTypes.get(column).replaceAll("\\(.*\\)$", "");
            if (cast != null && !(cast.equals("::text") && type != null && TEXT_TYPES.contains(type))) {
                return none(schema, name, filter, "the condition " + condition + " casts the column (" + column
                        + (columnTypes.containsKey(column) ? " is " + columnTypes.get(column) : "") + "): an index on it"
                        + " would not serve the cast; an expression index or a parameter of the column's type would");
            }
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
                constant.add(unqualified(condition, qualifier));
                constantColumns.add(column);
            } else {
                return none(schema, name, filter, "the condition " + condition + " compares with something other than a"
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
        int leading = equality.isEmpty() ? 1 : equality.size();
        Index existing = serving(columns, leading, indexes);
        if (existing != null) {
            return none(schema, name, filter, "index " + existing.name() + " already serves this filter (it leads with "
                    + String.join(", ", existing.columns().subList(0, Math.min(existing.columns().size(),
                            leading))) + "), yet the planner chose a sequential scan: run ANALYZE "
                    + RelationSubjects.qualified(schema, name) + " and check the plan again before adding anything");
        }
        String sql = "CREATE INDEX CONCURRENTLY ON " + RelationSubjects.qualified(schema, name) + " ("
                + String.join(", ", columns.stream().map(IndexAdvisor::identifier).toList()) + ")"
                + (predicate == null ? "" : " WHERE " + predicate) + ";";
        return new IndexProposal(schema, name, filter, columns, leading, predicate, sql, null, false,
                "not verified: the hypopg extension is not installed in this database");
    }

    /**
     * A valid, complete (not partial) btree index whose first {@code leading} key columns are the
     * proposal's first {@code leading} columns in any order (the equality columns, or the range
     * column alone): it serves the filter as well as the proposal would. Null when none does.
     */
    public static Index serving(List<String> columns, int leading, List<Index> indexes) {
        Set<String> wanted = new java.util.HashSet<>(columns.subList(0, Math.min(leading, columns.size())));
        for (Index index : indexes) {
            if (!index.valid() || index.beingBuilt() || !"btree".equals(index.method()) || index.predicate() != null
                    || index.columns() == null || index.keyAttnums().size() < wanted.size()) {
                continue;
            }
            boolean plain = index.keyAttnums().subList(0, wanted.size()).stream().allMatch(a -> a != 0);
            if (plain && new java.util.HashSet<>(index.columns().subList(0, wanted.size())).equals(wanted)) {
                return index;
            }
        }
        return null;
    }

    private static String unquote(String identifier) {
        return identifier.startsWith("\"") ? identifier.substring(1, identifier.length() - 1).replace("\"\"", "\"")
                : identifier;
    }

    private static IndexProposal none(String schema, String table, String filter, String reason) {
        return new IndexProposal(schema, table, filter, List.of(), 0, null, null, reason, false, reason);
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
        return qualifier == null ? condition
                : condition.replace("\"" + qualifier.replace("\"", "\"\"") + "\".", "").replace(qualifier + ".", "");
    }

    /** A column name as SQL needs it: quoted unless it is a plain lower-case name that is no keyword. */
    private static String identifier(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") && !KEYWORDS.contains(name) ? name : '"' + name.replace("\"", "\"\"") + '"';
    }

    /** Keywords that cannot be a bare column name in CREATE INDEX (PostgreSQL's reserved and column-name keywords). */
    private static final Set<String> KEYWORDS = Set.of("all", "analyse", "analyze", "and", "any", "array", "as", "asc",
            "asymmetric", "both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
            "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable",
            "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group",
            "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit", "localtime",
            "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing", "primary", "references",
            "returning", "select", "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing",
            "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with", "between",
            "bigint", "bit", "boolean", "char", "character", "coalesce", "dec", "decimal", "exists", "extract", "float",
            "greatest", "grouping", "inout", "int", "integer", "interval", "least", "national", "nchar", "none",
            "normalize", "nullif", "numeric", "out", "overlay", "position", "precision", "real", "row", "setof",
            "smallint", "substring", "time", "timestamp", "treat", "trim", "values", "varchar", "xmlattributes",
            "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot",
            "xmlserialize", "xmltable", "authorization", "binary", "collation", "concurrently", "cross", "current_schema",
            "freeze", "full", "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer",
            "overlaps", "right", "similar", "tablesample", "verbose");
}
