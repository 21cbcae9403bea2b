package io.pgvigil.relations;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * Reads the indexes and tables of the database a session is connected to, with a few queries whatever
 * the number of relations (never one per table or index). The table query also gives each table's dead
 * rows, heap block counters, last (auto)vacuum, autovacuum storage parameters and freeze ages (for
 * {@code vacuum_lag} and {@code xid_wraparound}), and the freeze ages of system catalogs and temporary
 * tables, which can hold a database's datfrozenxid back too. pg_stat_user_indexes,
 * pg_statio_user_indexes and pg_stat_user_tables only show the connected database, so the
 * {@link io.pgvigil.relations.DatabaseVisitor} runs this once per database.
 *
 * <p>Index definitions (names, schema, method, keys, expressions, constraints) rarely change, and
 * reading them was most of a visit's server time (docs/performance.md). So a visit first runs a small
 * probe of the catalog rows they come from ({@link #CATALOG_PROBE_SQL}); when nothing changed it reads
 * only what moves between visits, every index's statistics, size, validity and build state
 * ({@link #INDEX_STATISTICS_SQL}), and reuses the definitions it has. Any change the probe sees, an
 * index that appeared or went away, and every {@value #DEFINITIONS_AT_LEAST_EVERY}th visit read the
 * definitions again ({@link #INDEXES_SQL}), and with them the column names of indexes that are new or
 * changed ({@link #COLUMNS_SQL}).
 *
 * <p>The queries read the catalogs ({@code pg_index}, {@code pg_class}) and call the statistics
 * functions behind those views directly: joining the two index views costs twice as much for the
 * same numbers (docs/performance.md). Sizes are {@code relpages × block_size} (as of the last
 * VACUUM or ANALYZE): {@code pg_relation_size()} opens each relation and would queue behind an
 * ACCESS EXCLUSIVE lock. System schemas and other sessions' temporary tables are left out of the
 * indexes and tables (they count only among the oldest relations).
 */
public final class RelationsCollector {

    /**
     * An index's column names, with what they were read for: its key and expressions; and the index as
     * the last collection built it, whose unchanged names, lists and definition the next one reuses.
     */
    private record Names(String definition, List<String> columns, Index last) {
    }

    /**
     * The definitions and column names by indexrelid, for the one database this collector reads: the
     * indexes of the last collection. Fetching the names with the definitions was a third of their cost
     * (a pg_attribute lookup per index, docs/performance.md), so only indexes not seen before, or whose
     * definition changed, are looked up, unless a column may have been renamed.
     */
    private Map<Long, Names> names = new HashMap<>();
    private long nameLookups;
    private long definitionReads;
    /** The catalog as the probe saw it before the definitions in {@link #names} were read or confirmed; null before the first collection. */
    private Catalog catalog;
    /** Visits since the definitions were last read. */
    private int visitsOnDefinitions;

    /**
     * The definitions are read again at least every this many visits, whatever the probe says: a bound
     * on how long a change the probe cannot see stays unseen (a function or operator renamed under an
     * index expression, whose text the index's definition shows; a column rename whose count the
     * statistics system has not yet reported or lost, see {@link #CATALOG_PROBE_SQL}).
     */
    static final int DEFINITIONS_AT_LEAST_EVERY = 10;

    /**
     * What the definitions depend on, in one cheap query. For the catalog rows an index definition is
     * read from — {@code pg_class} rows of tables and indexes that are not temporary (names, schema,
     * access method), {@code pg_namespace} (schema names) and {@code pg_constraint} rows that depend on
     * an index ({@code backs_constraint}, a primary key added with USING INDEX), with temporary tables'
     * and schemas left out, so that an application's temporary tables are not taken for changes — it counts the rows and
     * those written since the last probe: a row inserted or updated by a transaction that was still
     * running or not yet started at the last probe has an {@code xmin} at least as new as that probe's
     * snapshot xmin. So an insert, an update or a delete committed since then moves one of the numbers,
     * at once and exactly; an in-place update (VACUUM and ANALYZE writing {@code relpages}) moves none,
     * and {@code relpages} is read every visit anyway. A write transaction that runs for long keeps
     * rows after it counting as written (the definitions are then read every visit until it ends).
     * Columns renamed under an index change neither its definition nor any of these rows, only
     * {@code pg_attribute}, whose rows are too many to count every visit: for those the probe reads the
     * statistics system's count of updated {@code pg_attribute} rows, which is reported a moment after
     * the renaming transaction ends (within a second of its session going idle, from PostgreSQL 15;
     * through the statistics collector, which may drop a report under load, before; never on a standby,
     * whose statistics do not count what replay writes), and the
     * definitions are read again in full at least every {@value #DEFINITIONS_AT_LEAST_EVERY}th visit.
     * The parameter is the last probe's snapshot xmin (0 the first time: every row counts as written).
     */
    static final String CATALOG_PROBE_SQL = """
            SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8 AS snapshot_xmin,
                   r.relations, r.relations_written, n.namespaces, n.namespaces_written,
                   k.constraints, k.constraints_written,
                   pg_stat_get_tuples_updated('pg_catalog.pg_attribute'::regclass) AS attribute_updates
              FROM (SELECT age((?::int8 % 4294967296)::text::xid) AS since) s
             CROSS JOIN LATERAL (SELECT count(*) AS relations,
                                        count(*) FILTER (WHERE age(xmin) <= s.since) AS relations_written
                                   FROM pg_class
                                  WHERE relpersistence <> 't' AND relkind IN ('r', 'p', 'm', 'i', 'I')) r
             CROSS JOIN LATERAL (SELECT count(*) AS namespaces,
                                        count(*) FILTER (WHERE age(xmin) <= s.since) AS namespaces_written
                                   FROM pg_namespace
                                  WHERE nspname !~ '^pg_(toast_)?temp_') n
             CROSS JOIN LATERAL (SELECT count(*) AS constraints,
                                        count(*) FILTER (WHERE age(k.xmin) <= s.since) AS constraints_written
                                   FROM pg_constraint k
                                   JOIN pg_namespace kn ON kn.oid = k.connamespace
                                  WHERE k.conindid <> 0 AND kn.nspname !~ '^pg_temp_') k
            """;

    /** One probe: the row counts, and whether any of the rows was written since the probe before. */
    private record Catalog(long snapshotXmin, long relations, long namespaces, long constraints, boolean written,
            long attributeUpdates) {

        /** Nothing an index definition is read from changed between {@code before} and this probe. */
        boolean unchangedSince(Catalog before) {
            return before != null && !written && relations == before.relations && namespaces == before.namespaces
                    && constraints == before.constraints && attributeUpdates == before.attributeUpdates;
        }
    }

    /**
     * What changes between visits without the catalog probe seeing it: every index's statistics, size
     * ({@code relpages}, written in place), validity (a CREATE INDEX CONCURRENTLY finishing or failing)
     * and whether it is being built. The same indexes as {@link #INDEXES_SQL} (an index lives in its
     * table's schema and has its persistence).
     */
    static final String INDEX_STATISTICS_SQL = """
            SELECT i.indexrelid::int8 AS indexrelid,
                   c.relpages::int8 AS relpages,
                   i.indisvalid AS is_valid,
                   pg_stat_get_numscans(i.indexrelid) AS idx_scan,
                   pg_stat_get_tuples_returned(i.indexrelid) AS idx_tup_read,
                   pg_stat_get_tuples_fetched(i.indexrelid) AS idx_tup_fetch,
                   pg_stat_get_blocks_hit(i.indexrelid) AS idx_blks_hit,
                   pg_stat_get_blocks_fetched(i.indexrelid) - pg_stat_get_blocks_hit(i.indexrelid) AS idx_blks_read,
                   %s AS last_idx_scan,
                   b.index_relid IS NOT NULL AS being_built
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN (SELECT DISTINCT index_relid FROM pg_stat_progress_create_index) b
                     ON b.index_relid = i.indexrelid
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname !~ '^pg_toast'
               AND c.relpersistence <> 't'
            """;

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

    /**
     * Column names of the indexes pgvigil has not seen yet, key and INCLUDE columns in order: the table's
     * current name of each column, and the text of each expression. Not the index's own attribute names,
     * which PostgreSQL leaves as they were when a table's column is renamed.
     */
    static final String COLUMNS_SQL = """
            SELECT i.indexrelid::int8 AS indexrelid,
                   array_agg(CASE WHEN i.indkey[k.n - 1] = 0 THEN pg_get_indexdef(i.indexrelid, k.n, true)
                                  ELSE a.attname::text END ORDER BY k.n) AS columns
              FROM pg_index i
             CROSS JOIN LATERAL generate_series(1, i.indnatts) AS k(n)
              LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n - 1]
             WHERE i.indexrelid = ANY (?::oid[])
             GROUP BY i.indexrelid
            """;

    /**
     * Every table and materialized view, with its TOAST table's freeze ages counted under it. System
     * catalogs and other sessions' temporary tables are read too, for their freeze ages only: either
     * can be what holds a database's datfrozenxid back ({@code kind} 'c' and 't'; user tables 'u').
     */
    static final String TABLES_SQL = """
            SELECT c.oid::int8 AS relid,
                   n.nspname AS schemaname,
                   c.relname AS tablename,
                   CASE WHEN c.relpersistence = 't' THEN 't'
                        WHEN n.nspname IN ('pg_catalog', 'information_schema') THEN 'c'
                        ELSE 'u' END AS kind,
                   c.relpages::int8 AS relpages,
                   c.reltuples::float8 AS reltuples,
                   c.reloptions,
                   greatest(age(c.relfrozenxid), age(t.relfrozenxid))::int8 AS xid_age,
                   greatest(mxid_age(c.relminmxid), mxid_age(t.relminmxid))::int8 AS mxid_age,
                   pg_stat_get_live_tuples(c.oid) AS n_live_tup,
                   pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
                   pg_stat_get_numscans(c.oid) AS seq_scan,
                   pg_stat_get_tuples_returned(c.oid) AS seq_tup_read,
                   pg_stat_get_tuples_inserted(c.oid) AS n_tup_ins,
                   pg_stat_get_tuples_updated(c.oid) AS n_tup_upd,
                   pg_stat_get_tuples_hot_updated(c.oid) AS n_tup_hot_upd,
                   pg_stat_get_tuples_deleted(c.oid) AS n_tup_del,
                   pg_stat_get_blocks_hit(c.oid) AS heap_blks_hit,
                   pg_stat_get_blocks_fetched(c.oid) - pg_stat_get_blocks_hit(c.oid) AS heap_blks_read,
                   extract(epoch FROM pg_stat_get_last_vacuum_time(c.oid))::float8 AS last_vacuum,
                   extract(epoch FROM pg_stat_get_last_autovacuum_time(c.oid))::float8 AS last_autovacuum,
                   extract(epoch FROM pg_stat_get_last_analyze_time(c.oid))::float8 AS last_analyze,
                   extract(epoch FROM pg_stat_get_last_autoanalyze_time(c.oid))::float8 AS last_autoanalyze,
                   pg_stat_get_mod_since_analyze(c.oid) AS mod_since_analyze,
                   %s AS last_seq_scan
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
             WHERE c.relkind IN ('r', 'm')
            """;

    /** How many of the oldest tables (by xid age and by MultiXact age) a collection keeps for the wraparound message. */
    static final int OLDEST_TABLES = 3;

    /**
     * Rows the driver fetches at a time (the visit runs in a transaction, so a fetch size reads through a
     * portal): without one, pgjdbc holds all 10,000 rows of a large database's index query at once, a
     * burst that a young collection in the middle of the visit promotes to the old generation, where it
     * dies and costs a full collection (a scrape waiting ~50 ms, docs/performance.md).
     */
    static final int FETCH_ROWS = 1000;

    /** Pre-16 servers have no pg_stat_get_lastscan(). */
    static String indexesSql(int versionNum) {
        return INDEXES_SQL.formatted(lastIndexScan(versionNum));
    }

    static String indexStatisticsSql(int versionNum) {
        return INDEX_STATISTICS_SQL.formatted(lastIndexScan(versionNum));
    }

    private static String lastIndexScan(int versionNum) {
        return versionNum >= 160000 ? "extract(epoch FROM pg_stat_get_lastscan(i.indexrelid))::float8" : "NULL::float8";
    }

    /** The table query for a server version (public for bench.RelationsBench, which measures it). */
    public static String tablesSql(int versionNum) {
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
     * @param writes         rows inserted, deleted and updated without HOT: the writes every index of the table pays for
     * @param deadRows       {@code n_dead_tup}: dead row versions not yet removed by a VACUUM (or page pruning)
     * @param reltuples      the planner's row estimate as of the last VACUUM or ANALYZE; -1 before the first (14+)
     * @param heapBlocksHit  heap blocks found in shared buffers ({@code heap_blks_hit}; TOAST and indexes not counted)
     * @param heapBlocksRead heap blocks read from outside shared buffers ({@code heap_blks_read})
     * @param lastVacuumSeconds     last manual VACUUM as epoch seconds, null if never (since the statistics began)
     * @param lastAutovacuumSeconds last autovacuum as epoch seconds, null if never
     * @param xidAge         {@code age(relfrozenxid)}, the older of the table's and its TOAST table's
     * @param mxidAge        {@code mxid_age(relminmxid)}, the older of the table's and its TOAST table's
     * @param autovacuum     the table's own autovacuum storage parameters (reloptions)
     * @param analyzed       when its planner statistics were last gathered, and what changed since
     */
    public record Table(long relid, String schema, String name, long sizeBytes, long liveRows, long seqScans,
            long seqRowsRead, long writes, Double lastSeqScanSeconds, long deadRows, double reltuples,
            long heapBlocksHit, long heapBlocksRead, Double lastVacuumSeconds, Double lastAutovacuumSeconds,
            long xidAge, long mxidAge, AutovacuumOptions autovacuum, Analyzed analyzed) {

        public Table {
            // Absent from polls recorded before these columns were read (testing.Recordings).
            autovacuum = autovacuum == null ? AutovacuumOptions.NONE : autovacuum;
            analyzed = analyzed == null ? Analyzed.UNKNOWN : analyzed;
        }

        public Table(long relid, String schema, String name, long sizeBytes, long liveRows, long seqScans,
                long seqRowsRead, long writes, Double lastSeqScanSeconds, long deadRows, double reltuples,
                long heapBlocksHit, long heapBlocksRead, Double lastVacuumSeconds, Double lastAutovacuumSeconds,
                long xidAge, long mxidAge, AutovacuumOptions autovacuum) {
            this(relid, schema, name, sizeBytes, liveRows, seqScans, seqRowsRead, writes, lastSeqScanSeconds, deadRows,
                    reltuples, heapBlocksHit, heapBlocksRead, lastVacuumSeconds, lastAutovacuumSeconds, xidAge, mxidAge,
                    autovacuum, null);
        }

        /**
         * The planner has no statistics for the table yet: {@code reltuples} is -1 (14+: never vacuumed
         * or analyzed), or the table has live rows but {@code relpages} is still 0 (13).
         */
        public boolean withoutPlannerStatistics() {
            return reltuples < 0 || (sizeBytes == 0 && liveRows > 0);
        }

        /**
         * More rows changed since the last ANALYZE than autoanalyze's default trigger (50 + 10 % of the
         * rows): the planner's estimates may be off.
         */
        public boolean staleStatistics() {
            return analyzed.modifiedSinceAnalyze() > 50 + 0.1 * Math.max(reltuples, 0);
        }
    }

    /**
     * When a table's planner statistics were last gathered ({@code pg_stat_user_tables}).
     *
     * @param lastAnalyzeSeconds     last manual ANALYZE as epoch seconds, null if never (since the statistics began)
     * @param lastAutoanalyzeSeconds last autoanalyze as epoch seconds, null if never
     * @param modifiedSinceAnalyze   {@code n_mod_since_analyze}: rows inserted, updated or deleted since
     */
    public record Analyzed(Double lastAnalyzeSeconds, Double lastAutoanalyzeSeconds, long modifiedSinceAnalyze) {

        public static final Analyzed UNKNOWN = new Analyzed(null, null, 0);

        /** The later of the two, null if neither is known. */
        public Double lastSeconds() {
            if (lastAnalyzeSeconds == null) {
                return lastAutoanalyzeSeconds;
            }
            return lastAutoanalyzeSeconds == null ? lastAnalyzeSeconds : Math.max(lastAnalyzeSeconds, lastAutoanalyzeSeconds);
        }
    }

    /**
     * A table's own autovacuum storage parameters ({@code ALTER TABLE ... SET (...)}); null where the
     * table does not set one, so that the server's setting applies.
     *
     * @param enabled         {@code autovacuum_enabled}
     * @param vacuumThreshold {@code autovacuum_vacuum_threshold}
     * @param vacuumScaleFactor {@code autovacuum_vacuum_scale_factor}
     * @param vacuumMaxThreshold {@code autovacuum_vacuum_max_threshold} (PostgreSQL 18+)
     */
    public record AutovacuumOptions(Boolean enabled, Long vacuumThreshold, Double vacuumScaleFactor,
            Long vacuumMaxThreshold) {

        public static final AutovacuumOptions NONE = new AutovacuumOptions(null, null, null, null);

        /** From {@code pg_class.reloptions} ({@code {autovacuum_enabled=off,fillfactor=90}}); null reads as none. */
        public static AutovacuumOptions parse(String[] reloptions) {
            if (reloptions == null) {
                return NONE;
            }
            Boolean enabled = null;
            Long threshold = null;
            Double scaleFactor = null;
            Long maxThreshold = null;
            for (String option : reloptions) {
                int eq = option.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String value = option.substring(eq + 1);
                switch (option.substring(0, eq)) {
                    case "autovacuum_enabled" -> enabled = bool(value);
                    case "autovacuum_vacuum_threshold" -> threshold = integer(value);
                    case "autovacuum_vacuum_scale_factor" -> scaleFactor = real(value);
                    case "autovacuum_vacuum_max_threshold" -> maxThreshold = integer(value);
                    default -> {
                    }
                }
            }
            return enabled == null && threshold == null && scaleFactor == null && maxThreshold == null ? NONE
                    : new AutovacuumOptions(enabled, threshold, scaleFactor, maxThreshold);
        }

        /**
         * An integer option as PostgreSQL reads one (reloptions keep the text as written): decimal, octal
         * ({@code 010}), hexadecimal ({@code 0x100}), or a number with a fraction or exponent, rounded
         * ({@code 1e3}). Null for text it cannot read, so that an odd option is ignored rather than
         * failing the visit.
         */
        public static Long integer(String value) {
            String v = value.trim();
            try {
                boolean negative = v.startsWith("-");
                String digits = negative || v.startsWith("+") ? v.substring(1) : v;
                long parsed;
                if (digits.startsWith("0x") || digits.startsWith("0X")) {
                    parsed = Long.parseLong(digits.substring(2), 16);
                } else if (digits.length() > 1 && digits.startsWith("0") && digits.chars().allMatch(Character::isDigit)) {
                    parsed = Long.parseLong(digits.substring(1), 8);
                } else if (digits.chars().allMatch(Character::isDigit)) {
                    parsed = Long.parseLong(digits);
                } else {
                    parsed = Math.round(Double.parseDouble(digits));
                }
                return negative ? -parsed : parsed;
            } catch (NumberFormatException e) {
                return null;
            }
        }

        /** A real option as PostgreSQL reads one; null for text it cannot read. */
        public static Double real(String value) {
            try {
                double d = Double.parseDouble(value.trim());
                return Double.isFinite(d) ? d : null;
            } catch (NumberFormatException e) {
                return null;
            }
        }

        /**
         * A boolean as PostgreSQL reads one (reloptions keep the text as written): {@code true},
         * {@code yes}, {@code on}, {@code 1} and their unambiguous prefixes, any case; null if none of them.
         */
        public static Boolean bool(String text) {
            String v = text.trim().toLowerCase(Locale.ROOT);
            if (v.isEmpty()) {
                return null;
            }
            if ("true".startsWith(v) || "yes".startsWith(v) || v.equals("on") || v.equals("1")) {
                return true;
            }
            if ("false".startsWith(v) || "no".startsWith(v) || (v.length() >= 2 && "off".startsWith(v)) || v.equals("0")) {
                return false;
            }
            return null;
        }
    }

    /**
     * A relation among the oldest of its database by freeze age: a user table, a system catalog
     * (VACUUM needs a superuser or the database owner) or another session's temporary table (which
     * only that session can vacuum). Ages as for {@link Table}.
     */
    public record Frozen(String schema, String name, Kind kind, long xidAge, long mxidAge) {

        public enum Kind {
            TABLE, CATALOG, TEMPORARY
        }
    }

    /**
     * Everything read from one database.
     *
     * @param oldest the oldest relations by freeze age: the {@value #OLDEST_TABLES} oldest user tables by
     *               xid age and by MultiXact age, and the oldest system catalog and temporary table by each
     */
    public record DatabaseRelations(List<Index> indexes, List<Table> tables, List<Frozen> oldest) {
        public DatabaseRelations {
            indexes = List.copyOf(indexes);
            tables = List.copyOf(tables);
            // Absent from polls recorded before freeze ages were read (testing.Recordings).
            oldest = oldest == null ? List.of() : List.copyOf(oldest);
        }
    }

    /** Queries made so far to read column names (one per collection that met new indexes). */
    public long nameLookups() {
        return nameLookups;
    }

    /** Collections so far that read the index definitions (the others read only their statistics). */
    public long definitionReads() {
        return definitionReads;
    }

    /**
     * Reads the connected database's indexes and tables; {@code blockSize} turns pages into bytes.
     * Always the same database for one instance (definitions and column names are cached by oid).
     */
    public DatabaseRelations collect(Connection connection, int versionNum, int blockSize) throws SQLException {
        // The probe comes first: a change committed after it is seen by the next probe, whatever this visit read.
        Catalog now = probe(connection);
        boolean due = visitsOnDefinitions + 1 >= DEFINITIONS_AT_LEAST_EVERY;
        List<Index> indexes = now.unchangedSince(catalog) && !due ? withStatistics(connection, versionNum, blockSize) : null;
        if (indexes == null) {
            // A column renamed under an index changes its names but not its definition: read every index's names then.
            boolean allNames = catalog == null || due || now.attributeUpdates() != catalog.attributeUpdates();
            indexes = withNames(connection, definitions(connection, versionNum, blockSize), allNames);
            definitionReads++;
            visitsOnDefinitions = 0;
        } else {
            visitsOnDefinitions++;
        }
        List<Table> tables = new ArrayList<>();
        List<Frozen> frozen = new ArrayList<>();
        try (PreparedStatement st = connection.prepareStatement(tablesSql(versionNum))) {
            st.setFetchSize(FETCH_ROWS);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String kind = rs.getString("kind");
                    String schema = rs.getString("schemaname");
                    String name = rs.getString("tablename");
                    long xidAge = rs.getLong("xid_age");
                    long mxidAge = rs.getLong("mxid_age");
                    frozen.add(new Frozen(schema, name, switch (kind) {
                        case "c" -> Frozen.Kind.CATALOG;
                        case "t" -> Frozen.Kind.TEMPORARY;
                        default -> Frozen.Kind.TABLE;
                    }, xidAge, mxidAge));
                    if (!kind.equals("u")) {
                        continue;
                    }
                    long writes = rs.getLong("n_tup_ins") + rs.getLong("n_tup_del") + rs.getLong("n_tup_upd")
                            - rs.getLong("n_tup_hot_upd");
                    Array reloptions = rs.getArray("reloptions");
                    tables.add(new Table(rs.getLong("relid"), schema, name, rs.getLong("relpages") * blockSize,
                            rs.getLong("n_live_tup"), rs.getLong("seq_scan"), rs.getLong("seq_tup_read"), writes,
                            rs.getObject("last_seq_scan", Double.class), rs.getLong("n_dead_tup"), rs.getDouble("reltuples"),
                            rs.getLong("heap_blks_hit"), rs.getLong("heap_blks_read"),
                            rs.getObject("last_vacuum", Double.class), rs.getObject("last_autovacuum", Double.class),
                            xidAge, mxidAge,
                            AutovacuumOptions.parse(reloptions == null ? null : (String[]) reloptions.getArray()),
                            new Analyzed(rs.getObject("last_analyze", Double.class),
                                    rs.getObject("last_autoanalyze", Double.class), rs.getLong("mod_since_analyze"))));
                }
            }
        }
        DatabaseRelations relations = new DatabaseRelations(indexes, tables, oldest(frozen));
        catalog = now;
        return relations;
    }

    private Catalog probe(Connection connection) throws SQLException {
        try (PreparedStatement st = connection.prepareStatement(CATALOG_PROBE_SQL)) {
            st.setLong(1, catalog == null ? 0 : catalog.snapshotXmin());
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return new Catalog(rs.getLong("snapshot_xmin"), rs.getLong("relations"), rs.getLong("namespaces"),
                        rs.getLong("constraints"), rs.getLong("relations_written") + rs.getLong("namespaces_written")
                                + rs.getLong("constraints_written") > 0,
                        rs.getLong("attribute_updates"));
            }
        }
    }

    /**
     * The indexes with the definitions of the last collection and statistics read now; null when the
     * set of indexes is not the one whose definitions are known (one was created or dropped).
     */
    private List<Index> withStatistics(Connection connection, int versionNum, int blockSize) throws SQLException {
        List<Index> indexes = new ArrayList<>(names.size());
        try (PreparedStatement st = connection.prepareStatement(indexStatisticsSql(versionNum))) {
            st.setFetchSize(FETCH_ROWS);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    Names known = names.get(rs.getLong("indexrelid"));
                    if (known == null) {
                        return null;
                    }
                    Index d = known.last();
                    indexes.add(new Index(d.indexrelid(), d.relid(), d.schema(), d.table(), d.name(), d.method(),
                            rs.getLong("relpages") * blockSize, d.unique(), d.primary(), d.exclusion(),
                            d.backsConstraint(), rs.getBoolean("is_valid"), rs.getBoolean("being_built"),
                            d.keyAttnums(), d.includeAttnums(), d.keyOptions(), d.columns(), d.expressions(),
                            d.predicate(), rs.getLong("idx_scan"), rs.getLong("idx_tup_read"),
                            rs.getLong("idx_tup_fetch"), rs.getLong("idx_blks_hit"), rs.getLong("idx_blks_read"),
                            rs.getObject("last_idx_scan", Double.class)));
                }
            }
        }
        // Oids are unique, so the same count means the same indexes.
        return indexes.size() == names.size() ? indexes : null;
    }

    /** Every index with its definition and statistics (column names not yet filled in). */
    private List<Index> definitions(Connection connection, int versionNum, int blockSize) throws SQLException {
        List<Index> indexes = new ArrayList<>();
        Map<String, List<Integer>> attnumCache = new HashMap<>();
        try (PreparedStatement st = connection.prepareStatement(indexesSql(versionNum))) {
            st.setFetchSize(FETCH_ROWS);
            try (ResultSet rs = st.executeQuery()) {
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
        }
        return indexes;
    }

    /**
     * The few relations a wraparound message names: the oldest user tables by each age, and the oldest
     * system catalog and temporary table by each, so that a catalog or another session's temporary
     * table holding the database back is named too.
     */
    static List<Frozen> oldest(List<Frozen> all) {
        Set<Frozen> kept = new LinkedHashSet<>();
        for (ToLongFunction<Frozen> age : List.<ToLongFunction<Frozen>>of(
                Frozen::xidAge, Frozen::mxidAge)) {
            Comparator<Frozen> oldestFirst = Comparator.comparingLong(age).reversed()
                    .thenComparing(Frozen::schema).thenComparing(Frozen::name);
            for (Frozen.Kind kind : Frozen.Kind.values()) {
                all.stream().filter(f -> f.kind() == kind).sorted(oldestFirst)
                        .limit(kind == Frozen.Kind.TABLE ? OLDEST_TABLES : 1).forEach(kept::add);
            }
        }
        return List.copyOf(kept);
    }

    /** The indexes with their column names: those known and unchanged reused, unless {@code all}, the others read. */
    private List<Index> withNames(Connection connection, List<Index> indexes, boolean all) throws SQLException {
        Map<Long, Names> known = new HashMap<>(indexes.size() * 2);
        List<Long> missing = new ArrayList<>();
        for (Index index : indexes) {
            Names n = names.get(index.indexrelid());
            if (n != null && !all && n.definition().equals(definition(index))) {
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
            List<String> columns = n == null ? fetched.getOrDefault(i.indexrelid(), List.of()) : n.columns();
            // The strings and lists the last collection kept (an index's names rarely change): what was just
            // read is garbage at once, and the old generation holds one copy instead of one per visit.
            Index p = n == null ? null : n.last();
            Index built = new Index(i.indexrelid(), i.relid(), same(p == null ? null : p.schema(), i.schema()),
                    same(p == null ? null : p.table(), i.table()), same(p == null ? null : p.name(), i.name()),
                    same(p == null ? null : p.method(), i.method()), i.sizeBytes(),
                    i.unique(), i.primary(), i.exclusion(), i.backsConstraint(), i.valid(), i.beingBuilt(),
                    same(p == null ? null : p.keyAttnums(), i.keyAttnums()),
                    same(p == null ? null : p.includeAttnums(), i.includeAttnums()),
                    same(p == null ? null : p.keyOptions(), i.keyOptions()), columns,
                    same(p == null ? null : p.expressions(), i.expressions()),
                    same(p == null ? null : p.predicate(), i.predicate()),
                    i.scans(), i.tuplesRead(), i.tuplesFetched(), i.blocksHit(), i.blocksRead(), i.lastScanSeconds());
            known.put(i.indexrelid(), new Names(n == null ? definition(i) : n.definition(), columns, built));
            named.add(built);
        }
        names = known;
        return named;
    }

    /** {@code before} when it equals {@code now}, else {@code now}. */
    private static <T> T same(T before, T now) {
        return before != null && before.equals(now) ? before : now;
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
