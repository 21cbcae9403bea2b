package io.pgvigil.relations;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the indexes and tables of the database a session is connected to: two queries, whatever
 * the number of relations (never one per table or index), and a third for the column names of
 * indexes it has not seen before. pg_stat_user_indexes,
 * pg_statio_user_indexes and pg_stat_user_tables only show the connected database, so the
 * {@link io.pgvigil.relations.DatabaseVisitor} runs this once per database.
 *
 * <p>Both queries read the catalogs ({@code pg_index}, {@code pg_class}) and call the statistics
 * functions behind those views directly: joining the two index views costs twice as much for the
 * same numbers (docs/performance.md). Sizes are {@code relpages × block_size} (as of the last
 * VACUUM or ANALYZE): {@code pg_relation_size()} opens each relation and would queue behind an
 * ACCESS EXCLUSIVE lock. System schemas and other sessions' temporary tables are left out.
 */
public final class RelationsCollector {

    /** An index's column names, with what they were read for: its key and expressions. */
    private record Names(String definition, List<String> columns) {
    }

    /**
     * Column names by indexrelid, for the one database this collector reads. Fetching them with the
     * main query was a third of its cost (a pg_attribute lookup per index, docs/performance.md), so
     * only indexes not seen before, or whose definition changed, are looked up. Holds only the
     * indexes of the last collection.
     */
    private Map<Long, Names> names = new HashMap<>();
    private long nameLookups;

    static final String INDEXES_SQL = """
            SELECT i.indexrelid::int8 AS indexrelid,
                   i.indrelid::int8 AS relid,
                   n.nspname AS schemaname,
                   t.relname AS tablename,
                   c.relname AS indexname,
                   am.amname AS method,
                   c.relpages::int8 AS relpages,
                   i.indisunique AS is_unique,
                   i.indisprimary AS is_primary,
                   i.indisexclusion AS is_exclusion,
                   con.conindid IS NOT NULL AS backs_constraint,
                   i.indisvalid AS is_valid,
                   i.indnkeyatts AS key_columns,
                   i.indkey,
                   i.indclass,
                   i.indcollation,
                   i.indoption,
                   CASE WHEN i.indexprs IS NULL THEN NULL ELSE pg_get_expr(i.indexprs, i.indrelid) END AS expressions,
                   CASE WHEN i.indpred IS NULL THEN NULL ELSE pg_get_expr(i.indpred, i.indrelid) END AS predicate,
                   pg_stat_get_numscans(i.indexrelid) AS idx_scan,
                   pg_stat_get_tuples_returned(i.indexrelid) AS idx_tup_read,
                   pg_stat_get_tuples_fetched(i.indexrelid) AS idx_tup_fetch,
                   pg_stat_get_blocks_hit(i.indexrelid) AS idx_blks_hit,
                   pg_stat_get_blocks_fetched(i.indexrelid) - pg_stat_get_blocks_hit(i.indexrelid) AS idx_blks_read,
                   %s AS last_idx_scan,
                   b.index_relid IS NOT NULL AS being_built
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
              JOIN pg_am am ON am.oid = c.relam
              LEFT JOIN (SELECT DISTINCT conindid FROM pg_constraint WHERE conindid <> 0) con
                     ON con.conindid = i.indexrelid
              LEFT JOIN (SELECT DISTINCT index_relid FROM pg_stat_progress_create_index) b
                     ON b.index_relid = i.indexrelid
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_toast'
               AND t.relpersistence <> 't'
            """;

    /** Column names of the indexes pgvigil has not seen yet (the names of an index's own attributes). */
    static final String COLUMNS_SQL = """
            SELECT a.attrelid::int8 AS indexrelid, array_agg(a.attname::text ORDER BY a.attnum) AS columns
              FROM pg_attribute a
             WHERE a.attrelid = ANY (?::oid[]) AND a.attnum > 0
             GROUP BY a.attrelid
            """;

    static final String TABLES_SQL = """
            SELECT c.oid::int8 AS relid,
                   n.nspname AS schemaname,
                   c.relname AS tablename,
                   c.relpages::int8 AS relpages,
                   pg_stat_get_live_tuples(c.oid) AS n_live_tup,
                   pg_stat_get_numscans(c.oid) AS seq_scan,
                   pg_stat_get_tuples_returned(c.oid) AS seq_tup_read,
                   pg_stat_get_tuples_inserted(c.oid) AS n_tup_ins,
                   pg_stat_get_tuples_updated(c.oid) AS n_tup_upd,
                   pg_stat_get_tuples_hot_updated(c.oid) AS n_tup_hot_upd,
                   pg_stat_get_tuples_deleted(c.oid) AS n_tup_del,
                   %s AS last_seq_scan
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_toast'
               AND c.relpersistence <> 't'
            """;

    /** Pre-16 servers have no pg_stat_get_lastscan(). */
    static String indexesSql(int versionNum) {
        return INDEXES_SQL.formatted(versionNum >= 160000
                ? "extract(epoch FROM pg_stat_get_lastscan(i.indexrelid))::float8" : "NULL::float8");
    }

    static String tablesSql(int versionNum) {
        return TABLES_SQL.formatted(versionNum >= 160000
                ? "extract(epoch FROM pg_stat_get_lastscan(c.oid))::float8" : "NULL::float8");
    }

    /**
     * One index with its definition and cumulative statistics.
     *
     * @param keyAttnums     table column numbers of the key columns, 0 for an expression
     * @param includeAttnums table column numbers of INCLUDE columns
     * @param keyOptions     opclass, collation and ordering option of each key column, as one string each
     * @param backsConstraint a constraint (primary key, unique, exclusion, or a foreign key pointing
     *                       at this index) depends on it
     * @param beingBuilt     a CREATE INDEX (CONCURRENTLY) or REINDEX is building it right now
     * @param lastScanSeconds {@code last_idx_scan} (PostgreSQL 16+) as epoch seconds, null when
     *                       unknown or never scanned
     */
    public record Index(long indexrelid, long relid, String schema, String table, String name, String method,
            long sizeBytes, boolean unique, boolean primary, boolean exclusion, boolean backsConstraint,
            boolean valid, boolean beingBuilt, List<Integer> keyAttnums, List<Integer> includeAttnums,
            List<String> keyOptions, List<String> columns, String expressions, String predicate, long scans,
            long tuplesRead, long tuplesFetched, long blocksHit, long blocksRead, Double lastScanSeconds) {

        /** An index whose uniqueness or constraint matters beyond speeding up reads. */
        public boolean enforces() {
            return unique || primary || exclusion || backsConstraint;
        }
    }

    /**
     * One table (or materialized view) with its cumulative statistics.
     *
     * @param writes rows inserted, deleted and updated without HOT: the writes every index of the table pays for
     */
    public record Table(long relid, String schema, String name, long sizeBytes, long liveRows, long seqScans,
            long seqRowsRead, long writes, Double lastSeqScanSeconds) {
    }

    /** Everything read from one database. */
    public record DatabaseRelations(List<Index> indexes, List<Table> tables) {
        public DatabaseRelations {
            indexes = List.copyOf(indexes);
            tables = List.copyOf(tables);
        }
    }

    /** Queries made so far to read column names (one per collection that met new indexes). */
    public long nameLookups() {
        return nameLookups;
    }

    /**
     * Reads the connected database's indexes and tables; {@code blockSize} turns pages into bytes.
     * Always the same database for one instance (column names are cached by oid).
     */
    public DatabaseRelations collect(Connection connection, int versionNum, int blockSize) throws SQLException {
        List<Index> indexes = new ArrayList<>();
        Map<String, List<Integer>> attnumCache = new HashMap<>();
        try (PreparedStatement st = connection.prepareStatement(indexesSql(versionNum));
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                int keyCount = rs.getInt("key_columns");
                List<Integer> attnums = attnumCache.computeIfAbsent(rs.getString("indkey"), RelationsCollector::vector);
                String[] classes = tokens(rs.getString("indclass"));
                String[] collations = tokens(rs.getString("indcollation"));
                String[] options = tokens(rs.getString("indoption"));
                List<String> keyOptions = new ArrayList<>(keyCount);
                for (int k = 0; k < keyCount && k < classes.length; k++) {
                    keyOptions.add(classes[k] + "/" + at(collations, k) + "/" + at(options, k));
                }
                indexes.add(new Index(rs.getLong("indexrelid"), rs.getLong("relid"), rs.getString("schemaname"),
                        rs.getString("tablename"), rs.getString("indexname"), rs.getString("method"),
                        rs.getLong("relpages") * blockSize, rs.getBoolean("is_unique"), rs.getBoolean("is_primary"),
                        rs.getBoolean("is_exclusion"), rs.getBoolean("backs_constraint"), rs.getBoolean("is_valid"),
                        rs.getBoolean("being_built"), attnums.subList(0, Math.min(keyCount, attnums.size())),
                        attnums.subList(Math.min(keyCount, attnums.size()), attnums.size()), List.copyOf(keyOptions),
                        null, rs.getString("expressions"), rs.getString("predicate"),
                        rs.getLong("idx_scan"), rs.getLong("idx_tup_read"), rs.getLong("idx_tup_fetch"),
                        rs.getLong("idx_blks_hit"), rs.getLong("idx_blks_read"),
                        rs.getObject("last_idx_scan", Double.class)));
            }
        }
        indexes = withNames(connection, indexes);
        List<Table> tables = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(tablesSql(versionNum));
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                long writes = rs.getLong("n_tup_ins") + rs.getLong("n_tup_del") + rs.getLong("n_tup_upd")
                        - rs.getLong("n_tup_hot_upd");
                tables.add(new Table(rs.getLong("relid"), rs.getString("schemaname"), rs.getString("tablename"),
                        rs.getLong("relpages") * blockSize, rs.getLong("n_live_tup"), rs.getLong("seq_scan"),
                        rs.getLong("seq_tup_read"), writes, rs.getObject("last_seq_scan", Double.class)));
            }
        }
        return new DatabaseRelations(indexes, tables);
    }

    private List<Index> withNames(Connection connection, List<Index> indexes) throws SQLException {
        Map<Long, Names> known = new HashMap<>(indexes.size() * 2);
        List<Long> missing = new ArrayList<>();
        for (Index index : indexes) {
            Names n = names.get(index.indexrelid());
            if (n != null && n.definition().equals(definition(index))) {
                known.put(index.indexrelid(), n);
            } else {
                missing.add(index.indexrelid());
            }
        }
        Map<Long, List<String>> fetched = new HashMap<>();
        if (!missing.isEmpty()) {
            nameLookups++;
            try (PreparedStatement st = connection.prepareStatement(COLUMNS_SQL)) {
                st.setArray(1, connection.createArrayOf("int8", missing.toArray()));
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        fetched.put(rs.getLong("indexrelid"), List.of((String[]) rs.getArray("columns").getArray()));
                    }
                }
            }
        }
        List<Index> named = new ArrayList<>(indexes.size());
        for (Index i : indexes) {
            Names n = known.get(i.indexrelid());
            if (n == null) {
                n = new Names(definition(i), fetched.getOrDefault(i.indexrelid(), List.of()));
                known.put(i.indexrelid(), n);
            }
            named.add(new Index(i.indexrelid(), i.relid(), i.schema(), i.table(), i.name(), i.method(), i.sizeBytes(),
                    i.unique(), i.primary(), i.exclusion(), i.backsConstraint(), i.valid(), i.beingBuilt(),
                    i.keyAttnums(), i.includeAttnums(), i.keyOptions(), n.columns(), i.expressions(), i.predicate(),
                    i.scans(), i.tuplesRead(), i.tuplesFetched(), i.blocksHit(), i.blocksRead(), i.lastScanSeconds()));
        }
        names = known;
        return named;
    }

    private static String definition(Index index) {
        return index.keyAttnums() + "+" + index.includeAttnums() + ":" + index.expressions();
    }

    /** An int2vector or oidvector in its text form ("1 3 0"). */
    static List<Integer> vector(String text) {
        if (text == null || text.isBlank()) {
            return List.of();
        }
        return Arrays.stream(tokens(text)).map(Integer::valueOf).toList();
    }

    private static String[] tokens(String text) {
        return text == null || text.isBlank() ? new String[0] : text.trim().split(" ");
    }

    private static String at(String[] values, int i) {
        return i < values.length ? values[i] : "";
    }
}
