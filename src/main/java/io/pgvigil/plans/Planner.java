package io.pgvigil.plans;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Monitor;
import io.pgvigil.core.Savepoint;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.RelationsCollector.DatabaseRelations;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.statements.StatStatementsCollector;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.target.ServerInfo;

/**
 * Obtains generic plans of the statements that findings point at, without executing them
 * ({@code pgvigil.plans.enabled}, off by default). At the end of each poll, {@link #choose} picks the
 * statements worth a plan: those flagged by {@code slow_query}, {@code query_regression},
 * {@code temp_spill} or {@code n_plus_one}, and for a {@code seq_scan_heavy} table the statements of its
 * database whose text names it (those that took most time in the interval first, then overall); only SELECT statements (and {@code WITH ...
 * SELECT}), then the {@value #BUSIEST} busiest statements of the interval, so that a statement has a plan
 * to compare with before it regresses. During the next database visit round, {@link #fetchTexts} reads their normalized texts
 * from pg_stat_statements on the main session (the redacted texts that pgvigil shows cannot be
 * planned; the normalized ones are never shown or logged), and {@link #planIn} plans up to
 * {@code per-round} of them in each database, on the visit's own session, inside its read-only
 * transaction, each under a savepoint, {@code statement_timeout} and {@code lock_timeout}:
 * {@code EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON)} on 16+; on 13–15 {@code PREPARE}, then
 * {@code EXPLAIN EXECUTE} with NULL parameters under {@code plan_cache_mode = force_generic_plan},
 * then {@code DEALLOCATE}. Unqualified names resolve under the statement's role's and database's
 * configured {@code search_path} ({@code pg_db_role_setting}, then the server's default). A statement
 * is planned again after {@code refresh}, or sooner when its mean time doubles or halves.
 *
 * <p>EXPLAIN is a utility statement: each planned statement adds one entry under pgvigil's role to
 * pg_stat_statements (counted by {@code pgvigil_own_statements}), the same entry each time it is
 * planned again.
 */
@ApplicationScoped
public class Planner {

    private static final Logger LOG = Logger.getLogger(Planner.class);

    /** Checks whose statement findings are worth a plan; the subject is the statement's queryid. */
    static final Set<String> STATEMENT_CHECKS = Set.of("slow_query", "query_regression", "temp_spill", "n_plus_one");
    static final String SEQ_SCAN_HEAVY = "seq_scan_heavy";
    /** Statements planned for a seq_scan_heavy table: those naming it, the slowest first. */
    static final int TOP_PER_SEQ_SCAN_TABLE = 3;
    /** The busiest statements of an interval (by execution time) planned for a baseline shape. */
    static final int BUSIEST = 5;
    /** Plans kept for the API, the oldest dropped first. */
    static final int MAX_PLANS = 200;

    static final String TEXTS_SQL = """
            SELECT DISTINCT ON (queryid, dbid, userid) queryid, dbid::int8 AS dbid, userid::int8 AS userid, query
              FROM %1$s.pg_stat_statements(true)
             WHERE queryid = ANY(?)
            """;

    /** The role's and the database's own settings, and the server's default search_path. */
    static final String SEARCH_PATH_SQL = """
            SELECT s.setdatabase::int8 AS dbid, s.setrole::int8 AS userid, c.value
              FROM pg_db_role_setting s, LATERAL unnest(s.setconfig) AS c(value)
             WHERE c.value LIKE 'search\\_path=%'
            UNION ALL
            SELECT -1, -1, 'search_path=' || reset_val FROM pg_settings WHERE name = 'search_path'
            """;

    private static final Pattern SELECT = Pattern.compile(
            "^\\s*(?:/\\*.*?\\*/\\s*|--[^\\n]*\\n\\s*)*\\(*\\s*(SELECT|WITH)\\b", Pattern.CASE_INSENSITIVE | Pattern.DOTALL);
    private static final Pattern WRITES = Pattern.compile("\\b(INSERT|UPDATE|DELETE|MERGE|FOR\\s+(NO\\s+KEY\\s+)?UPDATE|FOR\\s+(KEY\\s+)?SHARE)\\b",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern PARAM = Pattern.compile("\\$(\\d+)");

    /** A statement worth a plan, in one database. */
    record Wanted(long queryid, long dbid, String datname, long userid, String user, double meanSeconds, String reason) {
    }

    private record Key(String datname, long queryid) {
    }

    private final boolean enabled;
    private final int perRound;
    private final Duration refresh;
    private final Duration timeout;
    private final Duration lockTimeout;

    private Map<Key, Wanted> wanted = Map.of();
    /** Normalized texts of the wanted statements, by (dbid, userid, queryid): never shown, never logged. */
    private final Map<List<Long>, String> texts = new HashMap<>();
    /** search_path by (dbid, userid), with -1 for "any"; read once per round. */
    private final Map<List<Long>, String> searchPaths = new HashMap<>();
    private final LinkedHashMap<Key, Plan> plans = new LinkedHashMap<>();
    private final Map<Key, Plans.Failure> failures = new LinkedHashMap<>();
    private final Map<Key, Instant> lastTried = new HashMap<>();
    private String problem;
    /** This round so far: plans obtained, and whether a missing privilege stopped one. */
    private int roundPlanned;
    private boolean roundRefused;
    private volatile Plans latest = Plans.OFF;

    @Inject
    public Planner(PgvigilConfig config) {
        this.enabled = config.plans().enabled();
        this.perRound = config.plans().perRound();
        this.refresh = config.plans().refresh();
        this.timeout = config.plans().timeout();
        this.lockTimeout = config.target().lockTimeout();
    }

    public boolean enabled() {
        return enabled;
    }

    /** The plans obtained so far, with the statements that could not be planned and why. */
    public Plans latest() {
        return latest;
    }

    /**
     * Picks the statements to plan in the next round from a poll's findings: the statement findings'
     * subjects, and the top statements of each database with a seq_scan_heavy table.
     */
    public synchronized void choose(Snapshot snapshot, Window window, List<Finding> open) {
        if (!enabled) {
            return;
        }
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return;
        }
        Map<Key, Wanted> next = new LinkedHashMap<>();
        Map<Long, List<StatStatementsCollector.Statement>> byQueryid = new HashMap<>();
        for (StatStatementsCollector.Statement s : statements.get().entries()) {
            if (s.toplevel() && s.datname() != null && select(s.text())) {
                byQueryid.computeIfAbsent(s.queryid(), k -> new ArrayList<>()).add(s);
            }
        }
        Map<Long, Double> means = new HashMap<>();
        Map<Long, Double> recent = new HashMap<>();
        window.statements().forEach(d -> {
            means.merge(d.statement().queryid(), d.meanSeconds(), Math::max);
            recent.merge(d.statement().queryid(), d.execSeconds(), Double::sum);
        });
        for (Finding f : open) {
            if (STATEMENT_CHECKS.contains(f.check())) {
                long queryid;
                try {
                    queryid = Long.parseLong(f.subject());
                } catch (NumberFormatException e) {
                    continue;
                }
                for (StatStatementsCollector.Statement s : byQueryid.getOrDefault(queryid, List.of())) {
                    add(next, s, means.getOrDefault(queryid, 0.0), f.check() + " finding");
                }
            }
        }
        // A seq_scan_heavy table: the statements of its database whose text names it, the slowest first.
        Relations relations = snapshot.get(Relations.class).orElse(Relations.NONE);
        for (Finding f : open) {
            if (!f.check().equals(SEQ_SCAN_HEAVY)) {
                continue;
            }
            relations.databases().values().forEach(db -> db.current().tables().stream()
                    .filter(t -> RelationSubjects.of(db.datname(), t.schema(), t.name()).equals(f.subject()))
                    .forEach(t -> {
                        Pattern named = Pattern.compile("(?<![\\w$\"])\"?" + Pattern.quote(t.name()) + "\"?(?![\\w$])",
                                Pattern.CASE_INSENSITIVE);
                        statements.get().entries().stream()
                                .filter(e -> db.datname().equals(e.datname()) && e.toplevel() && select(e.text())
                                        && named.matcher(e.text()).find())
                                .sorted(Comparator.comparingDouble((StatStatementsCollector.Statement e) ->
                                        recent.getOrDefault(e.queryid(), 0.0)).thenComparingDouble(
                                                StatStatementsCollector.Statement::execSeconds).reversed())
                                .limit(TOP_PER_SEQ_SCAN_TABLE)
                                .forEach(e -> add(next, e, means.getOrDefault(e.queryid(), 0.0), "reads "
                                        + SEQ_SCAN_HEAVY + " table " + t.name()));
                    }));
        }
        // Then the busiest statements of the interval, so that a plan exists before a regression to
        // compare with; they come last, so findings are planned first within per-round.
        window.statements().stream()
                .filter(d -> d.statement().toplevel() && d.statement().datname() != null && select(d.statement().text()))
                .sorted(Comparator.comparingDouble(Window.StatementDelta::execSeconds).reversed())
                .limit(BUSIEST)
                .forEach(d -> add(next, d.statement(), d.meanSeconds(), "among the busiest statements"));
        wanted = next;
        // A statement that leaves the wanted list for a poll and comes back is not planned again before refresh.
        lastTried.keySet().removeIf(k -> !next.containsKey(k) && !plans.containsKey(k) && !failures.containsKey(k));
    }

    private static void add(Map<Key, Wanted> wanted, StatStatementsCollector.Statement s, double mean, String reason) {
        wanted.merge(new Key(s.datname(), s.queryid()),
                new Wanted(s.queryid(), s.dbid(), s.datname(), s.userid(), s.user(), mean, reason), (a, b) -> a);
    }

    /**
     * At the start of a visit round, on the main session between transactions: reads the normalized
     * texts of the statements due for a plan, and the configured search_paths. One query each, only
     * when something is due. A failure here is logged once and leaves this round without plans.
     */
    public synchronized void fetchTexts(Connection connection, ServerInfo server, Instant now) {
        if (roundPlanned > 0 && !roundRefused) {
            problem = null;
        }
        roundPlanned = 0;
        roundRefused = false;
        texts.clear();
        searchPaths.clear();
        List<Wanted> due = due(null, now);
        ServerInfo.Extension pgss = server.extensions().get(StatStatementsCollector.EXTENSION);
        if (!enabled || due.isEmpty() || pgss == null) {
            publish();
            return;
        }
        try {
            Savepoint savepoint = Savepoint.set(connection, "pgvigil_plan");
            try {
                try (PreparedStatement st = connection.prepareStatement(TEXTS_SQL.formatted(pgss.quotedSchema()))) {
                    Array ids = connection.createArrayOf("int8", due.stream().map(Wanted::queryid).distinct().toArray());
                    st.setArray(1, ids);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            texts.put(List.of(rs.getLong("dbid"), rs.getLong("userid"), rs.getLong("queryid")),
                                    rs.getString("query"));
                        }
                    }
                }
                try (PreparedStatement st = connection.prepareStatement(SEARCH_PATH_SQL); ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        searchPaths.put(List.of(rs.getLong("dbid"), rs.getLong("userid")),
                                rs.getString("value").substring("search_path=".length()));
                    }
                }
                connection.commit();
            } catch (SQLException e) {
                savepoint.rollback();
                connection.commit();
                texts.clear();
                noteProblem("the texts of the statements to plan cannot be read: " + Monitor.describe(e));
            }
        } catch (SQLException e) {
            noteProblem("the texts of the statements to plan cannot be read: " + Monitor.describe(e));
        }
        publish();
    }

    /**
     * Plans the due statements of one database on a session connected to it, after that database's
     * visit (between transactions); commits at the end so that the SET LOCALs end with it. Never
     * throws for a statement that cannot be planned: the reason is kept for the API.
     *
     * @throws SQLException only when the session itself fails
     */
    public synchronized void planIn(String datname, Connection connection, ServerInfo server, Instant now,
            DatabaseRelations relations) throws SQLException {
        if (!enabled || texts.isEmpty()) {
            return;
        }
        int planned = 0;
        for (Wanted w : due(datname, now)) {
            if (planned >= perRound) {
                break;
            }
            String text = texts.get(List.of(w.dbid(), w.userid(), w.queryid()));
            if (text == null) {
                // Not fetched at the round's start (it became due since, or pg_stat_statements lost its text):
                // the next round tries again.
                continue;
            }
            Key key = new Key(w.datname(), w.queryid());
            lastTried.put(key, now);
            String refused = plannable(text);
            if (refused != null) {
                fail(key, now, refused);
                continue;
            }
            planned++;
            String searchPath = searchPath(w);
            // Each statement in a subtransaction that is always rolled back: whatever planning did (a
            // function the planner evaluated, a pg_notify from one) is undone and never delivered, its
            // locks are released before the next statement, and no ROLLBACK counts in the database's
            // xact_rollback (the surrounding transaction commits, empty).
            Savepoint savepoint = Savepoint.set(connection, "pgvigil_plan");
            try {
                try (Statement st = connection.createStatement()) {
                    st.execute("SET LOCAL statement_timeout = " + Math.max(1, timeout.toMillis()));
                    st.execute("SET LOCAL lock_timeout = " + Math.max(1, Math.min(timeout.toMillis(), lockTimeout.toMillis())));
                }
                try (PreparedStatement st = connection.prepareStatement("SELECT pg_catalog.set_config('search_path', ?, true)")) {
                    st.setString(1, searchPath);
                    st.execute();
                }
                String json = explain(connection, server, text);
                List<PlanNode> nodes = PlanReader.nodes(json);
                List<IndexProposal> proposals = advise(connection, server, text, nodes, relations);
                Plan before = plans.remove(key);
                plans.put(key, new Plan(w.queryid(), w.datname(), now, server.major() >= 16 ? GENERIC : PREPARED,
                        searchPath, json, nodes, w.meanSeconds(), proposals, null, null).after(before));
                failures.remove(key);
                roundPlanned++;
                while (plans.size() > MAX_PLANS) {
                    plans.remove(plans.keySet().iterator().next());
                }
            } catch (SQLException | RuntimeException e) {
                fail(key, now, reason(e, searchPath));
            } finally {
                savepoint.rollback();
            }
        }
        connection.commit();
        publish();
    }

    static final String GENERIC = "EXPLAIN (GENERIC_PLAN)";
    static final String PREPARED = "PREPARE + plan_cache_mode = force_generic_plan";

    /**
     * The generic plan of a text as EXPLAIN's JSON, never executing it: EXPLAIN (GENERIC_PLAN) on 16+;
     * before, PREPARE, EXPLAIN EXECUTE with NULL parameters under force_generic_plan, and DEALLOCATE
     * (a prepared statement is not transactional: it outlives a rollback, so it is always dropped).
     */
    private static String explain(Connection connection, ServerInfo server, String text) throws SQLException {
        try (Statement st = connection.createStatement()) {
            if (server.major() >= 16) {
                return simple(st, "EXPLAIN (GENERIC_PLAN, VERBOSE, FORMAT JSON) " + text);
            }
            st.execute("PREPARE pgvigil_plan AS " + text);
            Savepoint prepared = Savepoint.set(connection, "pgvigil_prepared");
            try {
                st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
                int params = parameters(text);
                return one(st, "EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE pgvigil_plan"
                        + (params == 0 ? "" : "(" + String.join(", ", java.util.Collections.nCopies(params, "NULL")) + ")"));
            } catch (SQLException e) {
                prepared.rollback();
                throw e;
            } finally {
                st.execute("DEALLOCATE pgvigil_plan");
            }
        }
    }

    /** The column types of one table whose filter casts a column (is it varchar::text, or a cast no index serves?). */
    static final String COLUMN_TYPES_SQL = """
            SELECT attname::text, pg_catalog.format_type(atttypid, atttypmod)
              FROM pg_catalog.pg_attribute WHERE attrelid = ?::oid AND attnum > 0 AND NOT attisdropped
            """;

    static final String HYPOPG_SQL = """
            SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname = 'hypopg'
            """;

    /**
     * An index proposal for each sequential scan with a filter on a table of the visited database,
     * verified with a hypothetical index where hypopg is installed: kept as verified only when the
     * planner then uses it and the plan's cost at least halves (the rule Dexter uses).
     */
    private List<IndexProposal> advise(Connection connection, ServerInfo server, String text, List<PlanNode> nodes,
            DatabaseRelations relations) throws SQLException {
        List<IndexProposal> proposals = new ArrayList<>();
        if (relations == null) {
            return proposals;
        }
        String hypopg = null;
        for (PlanNode node : nodes) {
            if (!node.nodeType().equals("Seq Scan") || node.relation() == null) {
                continue;
            }
            Table table = relations.tables().stream().filter(t -> t.name().equals(node.relation())
                    && (node.schema() == null || t.schema().equals(node.schema()))).findFirst().orElse(null);
            if (table == null) {
                continue;
            }
            List<Index> indexes = relations.indexes().stream().filter(i -> i.relid() == table.relid()).toList();
            Map<String, String> types = new HashMap<>();
            if (node.filter() != null && node.filter().contains("::")) {
                try (PreparedStatement st = connection.prepareStatement(COLUMN_TYPES_SQL)) {
                    st.setLong(1, table.relid());
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            types.put(rs.getString(1), rs.getString(2));
                        }
                    }
                }
            }
            IndexProposal proposal = IndexAdvisor.propose(node, table, indexes, types);
            if (proposal.proposes()) {
                if (hypopg == null) {
                    try (PreparedStatement st = connection.prepareStatement(HYPOPG_SQL); ResultSet rs = st.executeQuery()) {
                        hypopg = rs.next() ? '"' + rs.getString(1).replace("\"", "\"\"") + '"' : "";
                    }
                }
                if (!hypopg.isEmpty()) {
                    proposal = verify(connection, server, text, nodes.get(0).totalCost(), proposal, hypopg);
                }
            }
            proposals.add(proposal);
        }
        return proposals;
    }

    private static IndexProposal verify(Connection connection, ServerInfo server, String text, double cost,
            IndexProposal proposal, String hypopg) throws SQLException {
        String create = proposal.sql().replace("CREATE INDEX CONCURRENTLY", "CREATE INDEX").replaceAll(";$", "");
        Savepoint savepoint = Savepoint.set(connection, "pgvigil_hypopg");
        try {
            try (PreparedStatement st = connection.prepareStatement("SELECT * FROM " + hypopg + ".hypopg_create_index(?)")) {
                st.setString(1, create);
                st.executeQuery().close();
            }
            List<PlanNode> after = PlanReader.nodes(explain(connection, server, text));
            // hypopg names its indexes "<oid>btree_table_column"; a Bitmap Index Scan node names no relation.
            boolean used = after.stream().anyMatch(n -> n.index() != null && n.index().matches("<\\d+>.*"));
            double newCost = after.get(0).totalCost();
            boolean halved = newCost <= cost / 2;
            String how = String.format(java.util.Locale.ROOT, "%s with a hypothetical index (hypopg): the planner %s it,"
                    + " and the plan's cost goes from %.1f to %.1f", used && halved ? "verified" : "refuted",
                    used ? "uses" : "does not use", cost, newCost);
            // Dexter's rule: kept only when the planner uses it and the cost at least halves.
            return used && halved ? proposal.verified(true, how)
                    : proposal.rejected(how + (used ? ", not by half" : "") + ": no index is proposed");
        } catch (SQLException e) {
            savepoint.rollback();
            return proposal.verified(false, "not verified: hypopg failed [SQLState " + e.getSQLState() + "]");
        } finally {
            Savepoint reset = Savepoint.set(connection, "pgvigil_hypopg");
            try (Statement st = connection.createStatement()) {
                st.executeQuery("SELECT " + hypopg + ".hypopg_reset()").close();
            } catch (SQLException e) {
                reset.rollback();
            }
        }
    }

    /** Statements of a database (any database with null) due for a plan, in the order they were wanted. */
    private List<Wanted> due(String datname, Instant now) {
        List<Wanted> due = new ArrayList<>();
        for (Map.Entry<Key, Wanted> e : wanted.entrySet()) {
            Wanted w = e.getValue();
            if (datname != null && !datname.equals(w.datname())) {
                continue;
            }
            Instant tried = lastTried.get(e.getKey());
            Plan plan = plans.get(e.getKey());
            boolean moved = plan != null && plan.meanSeconds() > 0 && w.meanSeconds() > 0
                    && (w.meanSeconds() >= 2 * plan.meanSeconds() || w.meanSeconds() <= plan.meanSeconds() / 2);
            // A moved mean re-plans sooner, but a statement whose last try failed waits for refresh.
            boolean failed = failures.containsKey(e.getKey());
            if (tried == null || !now.isBefore(tried.plus(refresh)) || (moved && !failed && now.isAfter(tried))) {
                due.add(w);
            }
        }
        return due;
    }

    /** The search_path the statement's role would have in its database, with $user replaced by the role. */
    private String searchPath(Wanted w) {
        String path = searchPaths.get(List.of(w.dbid(), w.userid()));
        if (path == null) {
            path = searchPaths.get(List.of(0L, w.userid()));
        }
        if (path == null) {
            path = searchPaths.get(List.of(w.dbid(), 0L));
        }
        if (path == null) {
            path = searchPaths.getOrDefault(List.of(-1L, -1L), "\"$user\", public");
        }
        if (w.user() == null) {
            // A dropped role: "$user" names no schema, as for a role without one of its name.
            return path.replaceAll("\"?\\$user\"?\\s*,?\\s*", "").replaceAll(",\\s*$", "");
        }
        String role = '"' + w.user().replace("\"", "\"\"") + '"';
        return path.replace("\"$user\"", role).replace("$user", role);
    }

    /** A SELECT (or WITH) by its shown text; the original text is checked again before planning. */
    private static boolean select(String shown) {
        return shown != null && SELECT.matcher(shown).find();
    }

    /** Why a text is not planned, or null when it can be: SELECT (or WITH ... SELECT) only, one statement. */
    static String plannable(String text) {
        if (text == null) {
            return "its text is not known";
        }
        if (!SELECT.matcher(text).find()) {
            return "only SELECT statements are planned";
        }
        // A normalized text has only $n where the constants were: a literal, an escape or a dollar-quoted
        // string means pg_stat_statements kept a raw text (real values, and a lexer pgvigil would have to trust).
        String unquoted = text.replaceAll("\"(?:[^\"]|\"\")*\"", "\"\"");
        if (unquoted.indexOf('\'') >= 0 || unquoted.indexOf('\\') >= 0 || unquoted.matches("(?s).*\\$(?!\\d).*")) {
            return "its text holds literal values (pg_stat_statements did not normalize it)";
        }
        String code = outsideQuotes(text);
        if (WRITES.matcher(code).find()) {
            return "it writes or locks rows (only plain SELECT statements are planned)";
        }
        if (code.contains(";")) {
            return "its text holds more than one statement";
        }
        return null;
    }

    /** The text with string literals, quoted identifiers and comments blanked out. */
    static String outsideQuotes(String sql) {
        StringBuilder out = new StringBuilder(sql.length());
        int i = 0;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"') {
                int end = sql.indexOf(c, i + 1);
                while (end > 0 && end + 1 < sql.length() && sql.charAt(end + 1) == c) {
                    end = sql.indexOf(c, end + 2);
                }
                i = end < 0 ? sql.length() : end + 1;
                out.append(' ');
            } else if (c == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                int end = sql.indexOf('\n', i);
                i = end < 0 ? sql.length() : end;
            } else if (c == '/' && i + 1 < sql.length() && sql.charAt(i + 1) == '*') {
                int end = sql.indexOf("*/", i + 2);
                i = end < 0 ? sql.length() : end + 2;
                out.append(' ');
            } else if (c == '$') {
                Matcher tag = Pattern.compile("\\$[A-Za-z_]*\\$").matcher(sql).region(i, sql.length());
                if (tag.lookingAt() && !sql.substring(i, tag.end()).matches("\\$\\d+")) {
                    int end = sql.indexOf(tag.group(), tag.end());
                    i = end < 0 ? sql.length() : end + tag.group().length();
                    out.append(' ');
                } else {
                    out.append(c);
                    i++;
                }
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** The highest $n in the text: the parameters a prepared statement of it takes. */
    static int parameters(String text) {
        int max = 0;
        Matcher m = PARAM.matcher(outsideQuotes(text));
        while (m.find()) {
            max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max;
    }

    /**
     * Runs one statement through the simple query protocol. In the extended protocol the server counts
     * the text's $n as parameters of the protocol-level statement and wants values for them in Bind;
     * EXPLAIN (GENERIC_PLAN) is meant to be sent without any. pgjdbc's flag for this is the one its
     * {@code preferQueryMode=simple} uses.
     */
    private static String simple(Statement st, String sql) throws SQLException {
        st.unwrap(org.postgresql.core.BaseStatement.class).executeWithFlags(sql,
                org.postgresql.core.QueryExecutor.QUERY_EXECUTE_AS_SIMPLE);
        try (ResultSet rs = st.getResultSet()) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String one(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Why planning failed, in a fixed sentence per SQLSTATE: never the server's message, which a function
     * the planner evaluated could fill with anything it read.
     */
    private String reason(Exception e, String searchPath) {
        if (e instanceof SQLException sql) {
            String state = sql.getSQLState();
            if ("42501".equals(state)) {
                roundRefused = true;
                noteProblem(PRIVILEGE);
                return PRIVILEGE;
            }
            if ("42P01".equals(state) || "42883".equals(state)) {
                return "a relation or function it names does not exist under search_path " + searchPath
                        + " [SQLState " + state + "]: the application may set its own search_path, which pgvigil cannot know";
            }
            if ("57014".equals(state) || "55P03".equals(state)) {
                return "planning took longer than pgvigil.plans.timeout (" + timeout.toMillis() + " ms) or waited for a"
                        + " lock [SQLState " + state + "]";
            }
            if ("42P18".equals(state)) {
                return "PostgreSQL cannot tell the type of one of its parameters without values [SQLState 42P18]";
            }
            return "planning failed [SQLState " + state + "]";
        }
        return "its plan could not be read (" + e.getClass().getSimpleName() + ")";
    }

    static final String PRIVILEGE = "pgvigil's role cannot read a table this statement reads [SQLState 42501]: plans"
            + " need SELECT on the application's tables (GRANT SELECT ... TO pgvigil), or pg_read_all_data on 14+";

    private void fail(Key key, Instant now, String reason) {
        failures.put(key, new Plans.Failure(key.queryid(), key.datname(), now, reason));
        while (failures.size() > MAX_PLANS) {
            failures.remove(failures.keySet().iterator().next());
        }
    }

    private void noteProblem(String text) {
        if (!text.equals(problem)) {
            LOG.warnf("plans: %s; pgvigil carries on without those plans", text);
        }
        problem = text;
    }

    private void publish() {
        latest = new Plans(enabled, List.copyOf(plans.values()), List.copyOf(failures.values()), problem);
    }
}
