package io.pgvigil.statements;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.target.ServerInfo.Extension;
import io.pgvigil.core.Collector;
import io.pgvigil.core.Savepoint;

/**
 * Reads {@code pg_stat_statements} (extension 1.8 on PostgreSQL 13 to 1.12 on 18). Statistics come
 * from {@code pg_stat_statements(showtext := false)} every poll, which does not load the query-text
 * file; texts are fetched in one batch, only for queryids not yet in the bounded text cache, cut to
 * {@code pgvigil.statements.text-max-length} and redacted ({@link SqlText}) before they are kept.
 * In steady state a poll reads no query text. {@code pg_stat_statements_info} (1.9+) gives
 * deallocations and the time of the last full reset.
 *
 * <p>Entries of the role pgvigil logs in as are left out: its own polling is not the workload it
 * watches (run it as a dedicated role). They are read with the others (the query has no filter, so
 * they cost no query of their own) and counted: {@link Statements#ownEntries()} shows what pgvigil
 * itself puts into pg_stat_statements, a number that stays the same poll after poll. Off when the extension is not installed in the connected
 * database or not preloaded.
 *
 * <p>Series: top-N statements ({@code pg_stat_statements_calls_total{queryid,datname,user}} and the
 * like), per-database aggregates, {@code pg_stat_statements_deallocations_total}; see docs/metrics.md.
 */
@ApplicationScoped
public class StatStatementsCollector implements Collector<StatStatementsCollector.Statements> {

    public static final String KEY = "pg_stat_statements";
    public static final String EXTENSION = "pg_stat_statements";

    /** Version-dependent columns: 1.8 (PostgreSQL 13) has no toplevel and no stats_since. */
    static final String COLUMNS_1_8 = "true AS toplevel, NULL::float8 AS stats_since_seconds";
    /** 1.9 and 1.10 (PostgreSQL 14-16): toplevel. */
    static final String COLUMNS_1_9 = "s.toplevel, NULL::float8 AS stats_since_seconds";
    /** 1.11+ (PostgreSQL 17-18): stats_since tells a new entry from an old one. */
    static final String COLUMNS_1_11 = "s.toplevel, extract(epoch FROM s.stats_since)::float8 AS stats_since_seconds";

    /**
     * %1$s: the extension's schema; %2$s: the version-dependent columns. Database and role names are
     * not joined in (that cost ~2 ms a poll with 5,000 entries): they come from {@link #NAMES_SQL}.
     */
    static final String SQL = """
            SELECT s.queryid, s.dbid::int8 AS dbid, s.userid::int8 AS userid, %2$s,
                   s.calls, s.total_exec_time / 1000.0 AS exec_seconds, s.total_plan_time / 1000.0 AS plan_seconds,
                   s.rows, s.shared_blks_hit, s.shared_blks_read, s.temp_blks_written
              FROM %1$s.pg_stat_statements(false) s
             WHERE s.queryid IS NOT NULL
            """;

    /** Names of databases and roles by oid; read again only when an entry has an oid not seen yet. */
    static final String NAMES_SQL = """
            SELECT 'd' AS kind, oid::int8 AS oid, datname::text AS name FROM pg_database
            UNION ALL
            SELECT 'r', oid::int8, rolname::text FROM pg_roles
            """;

    static final String INFO_SQL = """
            SELECT dealloc, extract(epoch FROM stats_reset)::float8 AS stats_reset_seconds
              FROM %1$s.pg_stat_statements_info
            """;

    /** Reads the text file once for the whole batch; only run for queryids not cached yet. */
    static final String TEXT_SQL = """
            SELECT DISTINCT ON (queryid) queryid, left(query, ?) AS query
              FROM %1$s.pg_stat_statements(true)
             WHERE queryid = ANY(?)
            """;

    /**
     * One entry: cumulative counters since it was created (or since the last reset).
     *
     * @param text the redacted query text (shared with the text cache), null when pg_stat_statements
     *             no longer had it
     */
    public record Statement(long queryid, long dbid, String datname, long userid, String user, boolean toplevel,
            long calls, double execSeconds, double planSeconds, long rows, long sharedBlksHit, long sharedBlksRead,
            long tempBlksWritten, Double statsSinceSeconds, String text) {

        Statement withNames(String datname, String user) {
            return new Statement(queryid, dbid, datname, userid, user, toplevel, calls, execSeconds, planSeconds, rows,
                    sharedBlksHit, sharedBlksRead, tempBlksWritten, statsSinceSeconds, text);
        }

        Statement withText(String text) {
            return new Statement(queryid, dbid, datname, userid, user, toplevel, calls, execSeconds, planSeconds, rows,
                    sharedBlksHit, sharedBlksRead, tempBlksWritten, statsSinceSeconds, text);
        }

        public Key key() {
            return new Key(queryid, dbid, userid, toplevel);
        }
    }

    /** What identifies an entry of pg_stat_statements. */
    public record Key(long queryid, long dbid, long userid, boolean toplevel) {
    }

    /**
     * @param deallocations    {@code pg_stat_statements_info.dealloc}, null before extension 1.9
     * @param statsResetSeconds time of the last full reset, null before 1.9
     * @param textFetches      queries that read query texts since pgvigil started
     * @param ownEntries       entries of pgvigil's own role, left out of {@code entries}
     */
    public record Statements(List<Statement> entries, Long deallocations, Double statsResetSeconds, long textFetches,
            int blockSize, int ownEntries) {

        public Statements {
            entries = java.util.Collections.unmodifiableList(entries);
        }

        /** Query text by queryid, for the entries present. Builds a map: not for every poll. */
        public Map<Long, String> texts() {
            Map<Long, String> texts = new HashMap<>();
            entries.forEach(s -> texts.put(s.queryid(), s.text()));
            return texts;
        }
    }

    /** Cached for a queryid whose text pg_stat_statements no longer had (compared by identity). */
    @SuppressWarnings("StringOperationCanBeSimplified")
    private static final String NO_TEXT = new String("");

    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(StatStatementsCollector.class);
    /** Names are read again at least this often, so that a renamed database or role shows. */
    static final int NAMES_REFRESH_COLLECTIONS = 100;

    /** oid → name; an oid whose database or role was dropped maps to null, so it is not looked up again. */
    private final Map<Long, String> databases = new HashMap<>();
    private final Map<Long, String> roles = new HashMap<>();
    private int collectionsSinceNames = NAMES_REFRESH_COLLECTIONS;

    private final int textMaxLength;
    private final int cacheSize;
    private boolean cacheTooSmallLogged;
    private final Map<Long, String> textCache;
    private long textFetches;
    /** Collections so far, and the one at which reading texts last failed (0: it did not). */
    private long collections;
    private long textsFailed;
    /** After a failed text read, collections to wait before trying again. */
    static final int TEXT_RETRY_COLLECTIONS = 20;

    @Inject
    public StatStatementsCollector(PgvigilConfig config) {
        this.textMaxLength = config.statements().textMaxLength();
        this.cacheSize = config.statements().textCacheSize();
        this.textCache = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
                return size() > cacheSize;
            }
        };
    }

    @Override
    public String key() {
        return KEY;
    }

    @Override
    public Class<Statements> resultType() {
        return Statements.class;
    }

    @Override
    public Optional<String> unavailable(ServerInfo server) {
        if (!server.preloadLibraries().contains(EXTENSION)) {
            return Optional.of("pg_stat_statements is not in shared_preload_libraries");
        }
        return Collector.requireExtension(server, EXTENSION);
    }

    @Override
    public synchronized Statements collect(Connection connection, ServerInfo server) throws SQLException {
        collections++;
        Extension ext = server.extensions().get(EXTENSION);
        String schema = ext.quotedSchema();
        String columns = ext.atLeast(1, 11) ? COLUMNS_1_11 : ext.atLeast(1, 9) ? COLUMNS_1_9 : COLUMNS_1_8;
        List<Statement> entries = new ArrayList<>();
        boolean unknownNames = ++collectionsSinceNames > NAMES_REFRESH_COLLECTIONS;
        long own = server.userOid();
        int ownEntries = 0;
        try (PreparedStatement st = connection.prepareStatement(SQL.formatted(schema, columns))) {
            // 1,000 rows at a time through a portal (the poll is a transaction): the driver holds a bounded
            // part of 5,000 entries, not all of them, while the entries are built (docs/performance.md).
            st.setFetchSize(1000);
            try (ResultSet rs = st.executeQuery()) {
                // By position, in the order of SQL: 5,000 rows a poll make label lookups show in the profile.
                while (rs.next()) {
                    long queryid = rs.getLong(1);
                    long dbid = rs.getLong(2);
                    long userid = rs.getLong(3);
                    if (userid == own) {
                        ownEntries++;
                        continue;
                    }
                    if (!databases.containsKey(dbid) || !roles.containsKey(userid)) {
                        unknownNames = true;
                    }
                    String text = textCache.get(queryid);
                    entries.add(new Statement(queryid, dbid, databases.get(dbid), userid, roles.get(userid),
                            rs.getBoolean(4), rs.getLong(6), rs.getDouble(7), rs.getDouble(8), rs.getLong(9),
                            rs.getLong(10), rs.getLong(11), rs.getLong(12), rs.getObject(5, Double.class),
                            text == NO_TEXT ? null : text));
                }
            }
        }
        if (unknownNames) {
            readNames(connection, entries);
            entries.replaceAll(e -> e.withNames(databases.get(e.dbid()), roles.get(e.userid())));
        }
        Long deallocations = null;
        Double statsReset = null;
        if (ext.atLeast(1, 9)) {
            try (PreparedStatement st = connection.prepareStatement(INFO_SQL.formatted(schema));
                    ResultSet rs = st.executeQuery()) {
                if (rs.next()) {
                    deallocations = rs.getObject("dealloc", Long.class);
                    statsReset = rs.getObject("stats_reset_seconds", Double.class);
                }
            }
        }
        if (entries.size() > cacheSize && !cacheTooSmallLogged) {
            LOG.warnf("pg_stat_statements has %d entries but pgvigil.statements.text-cache-size is %d: query texts"
                    + " will be read again on every poll; raise it above pg_stat_statements.max", entries.size(), cacheSize);
            cacheTooSmallLogged = true;
        }
        addTexts(connection, schema, entries);
        return new Statements(entries, deallocations, statsReset, textFetches, server.blockSize(), ownEntries);
    }

    private void readNames(Connection connection, List<Statement> entries) throws SQLException {
        databases.clear();
        roles.clear();
        try (PreparedStatement st = connection.prepareStatement(NAMES_SQL); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                (rs.getString(1).equals("d") ? databases : roles).put(rs.getLong(2), rs.getString(3));
            }
        }
        for (Statement e : entries) {
            databases.putIfAbsent(e.dbid(), null);
            roles.putIfAbsent(e.userid(), null);
        }
        collectionsSinceNames = 0;
    }

    /** Fills in the texts the cache did not have, fetched in one query; in steady state there are none. */
    private void addTexts(Connection connection, String schema, List<Statement> entries) throws SQLException {
        java.util.Set<Long> missing = new java.util.LinkedHashSet<>();
        for (Statement s : entries) {
            if (s.text() == null && !textCache.containsKey(s.queryid())) {
                missing.add(s.queryid());
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        if (textsFailed > 0 && collections < textsFailed + TEXT_RETRY_COLLECTIONS) {
            return;
        }
        textFetches++;
            Map<Long, String> fetched = new HashMap<>();
            // pg_stat_statements(true) converts every entry's text to this database's encoding, and
            // one text that does not convert (bytes that are not UTF-8, from a SQL_ASCII database)
            // fails the whole call. The numbers are still good: keep them, go without texts, try
            // again later.
            Savepoint beforeTexts = Savepoint.set(connection, "pgvigil_texts");
            try (PreparedStatement st = connection.prepareStatement(TEXT_SQL.formatted(schema))) {
                st.setInt(1, textMaxLength);
                Array ids = connection.createArrayOf("int8", missing.toArray());
                st.setArray(2, ids);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        fetched.put(rs.getLong("queryid"), SqlText.redact(rs.getString("query"), textMaxLength));
                    }
                }
            } catch (SQLException e) {
                beforeTexts.rollback();
                if (textsFailed == 0) {
                    LOG.warnf("pg_stat_statements' query texts cannot be read (%s [SQLState %s]); statements are"
                            + " collected without their texts, and reading them is tried again every %d polls",
                            e.getMessage().replace('\n', ' '), e.getSQLState(), TEXT_RETRY_COLLECTIONS);
                }
                textsFailed = collections;
                return;
            }
            if (textsFailed > 0) {
                LOG.info("pg_stat_statements' query texts can be read again");
                textsFailed = 0;
            }
            for (Long id : missing) {
                // A text pg_stat_statements no longer has is remembered, so it is not asked for again.
                String text = fetched.get(id);
                textCache.put(id, text == null ? NO_TEXT : text);
            }
        for (java.util.ListIterator<Statement> it = entries.listIterator(); it.hasNext();) {
            Statement s = it.next();
            if (missing.contains(s.queryid())) {
                String text = textCache.get(s.queryid());
                it.set(s.withText(text == NO_TEXT ? null : text));
            }
        }
    }
}
