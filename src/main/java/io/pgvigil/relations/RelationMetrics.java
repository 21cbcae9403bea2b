package io.pgvigil.relations;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.relations.RelationsCollector.Index;

/**
 * Per database (never per index or table): index and table counts and sizes, index and table (heap)
 * blocks hit and read as counters pgvigil keeps from the visits' windows, how many indexes and tables
 * are part of a finding, and how the visits went. The index hit rate over any range is
 * {@code rate(pgvigil_index_blocks_hit_total) / (rate(hit) + rate(read))}, the table one the same
 * over {@code pgvigil_heap_blocks_*}.
 *
 * <pre>
 * pgvigil_database_indexes{datname="shop"} 12.0
 * pgvigil_index_blocks_hit_total{datname="shop"} 91823.0
 * pgvigil_heap_blocks_read_total{datname="shop"} 120.0
 * pgvigil_index_findings{check="unused_index",datname="shop"} 2.0
 * </pre>
 */
@Singleton
public class RelationMetrics implements MetricsGroup {

    public static final String SECTION = "relations";
    public static final MetricFamily INDEXES = MetricFamily.gauge(SECTION, "pgvigil_database_indexes",
            "User indexes in the database.",
            "datname");
    public static final MetricFamily INDEXES_BYTES = MetricFamily.gauge(SECTION, "pgvigil_database_indexes_bytes",
            "Their size: `relpages × block_size`, as of the last VACUUM, ANALYZE or CREATE INDEX (pgvigil does not call `pg_relation_size()`, which would wait behind an ACCESS EXCLUSIVE lock).",
            "datname");
    public static final MetricFamily TABLES = MetricFamily.gauge(SECTION, "pgvigil_database_tables",
            "User tables and materialized views.",
            "datname");
    public static final MetricFamily INDEX_BLOCKS_HIT = MetricFamily.counter(SECTION, "pgvigil_index_blocks_hit",
            "Index blocks found in shared buffers (`idx_blks_hit` of every user index), summed by pgvigil over each interval between two visits since pgvigil started; an index whose counters went backwards (dropped, reset) adds nothing, so this never decreases. With `pgvigil_index_blocks_read_total` it gives the index hit rate over any range: `rate(hit) / (rate(hit) + rate(read))`.",
            "datname");
    public static final MetricFamily INDEX_BLOCKS_READ = MetricFamily.counter(SECTION, "pgvigil_index_blocks_read",
            "Index blocks read from outside shared buffers (`idx_blks_read`), summed the same way.",
            "datname");
    public static final MetricFamily HEAP_BLOCKS_HIT = MetricFamily.counter(SECTION, "pgvigil_heap_blocks_hit",
            "Table blocks found in shared buffers (`heap_blks_hit` of every user table and materialized view; TOAST and indexes not included), summed by pgvigil over each interval between two visits as for the index blocks. With `pgvigil_heap_blocks_read_total` it gives the table cache hit rate over any range.",
            "datname");
    public static final MetricFamily HEAP_BLOCKS_READ = MetricFamily.counter(SECTION, "pgvigil_heap_blocks_read",
            "Table blocks read from outside shared buffers (`heap_blks_read`), summed the same way.",
            "datname");
    public static final MetricFamily INDEX_FINDINGS = MetricFamily.gauge(SECTION, "pgvigil_index_findings",
            "Indexes with an open finding, by check: `unused_index`, `duplicate_index`, `invalid_index` (0 when none).",
            "datname", "check");
    public static final MetricFamily INDEX_FINDINGS_BYTES = MetricFamily.gauge(SECTION, "pgvigil_index_findings_bytes",
            "Size of those indexes: what dropping them would give back.",
            "datname", "check");
    public static final MetricFamily TABLE_FINDINGS = MetricFamily.gauge(SECTION, "pgvigil_table_findings",
            "Tables with an open finding, by check: `seq_scan_heavy`, `vacuum_lag` (0 when none).",
            "datname", "check");
    public static final MetricFamily VISIT_SUCCESS = MetricFamily.gauge(SECTION, "pgvigil_database_visit_success",
            "1 when the database's latest visit read its statistics; 0 when it failed or was skipped (no CONNECT privilege, `datconnlimit` reached, ...; `/api/v1/status` gives the reason under `databases`).",
            "datname");
    public static final MetricFamily VISIT_DURATION = MetricFamily.gauge(SECTION, "pgvigil_database_visit_duration_seconds",
            "Time the latest visit took: connecting, session settings, both catalog queries. Absent for a database skipped without trying.",
            "datname");
    public static final MetricFamily VISIT_LAST = MetricFamily.gauge(SECTION, "pgvigil_database_last_visit_timestamp_seconds",
            "Unix time of the database's last successful visit.",
            "datname");

    /** datname → {index blocks hit, read, heap blocks hit, read} summed over every visit window since pgvigil started. */
    private final Map<String, long[]> blocks = new HashMap<>();
    /** datname → the visit whose window was last added, so that a window repeated between visits counts once. */
    private final Map<String, Instant> counted = new HashMap<>();

    @Override
    public List<MetricFamily> families() {
        return List.of(INDEXES, INDEXES_BYTES, TABLES, INDEX_BLOCKS_HIT, INDEX_BLOCKS_READ, HEAP_BLOCKS_HIT,
                HEAP_BLOCKS_READ, INDEX_FINDINGS,
                INDEX_FINDINGS_BYTES, TABLE_FINDINGS, VISIT_SUCCESS, VISIT_DURATION, VISIT_LAST);
    }

    @Override
    public synchronized void publish(PollState state, Series out) {
        Optional<Relations> relations = state.up() ? state.snapshot().get(Relations.class) : Optional.empty();
        Map<Tags, Double> indexes = new HashMap<>();
        Map<Tags, Double> indexBytes = new HashMap<>();
        Map<Tags, Double> tables = new HashMap<>();
        Map<Tags, Double> hit = new HashMap<>();
        Map<Tags, Double> read = new HashMap<>();
        Map<Tags, Double> heapHit = new HashMap<>();
        Map<Tags, Double> heapRead = new HashMap<>();
        Map<Tags, Double> flagged = new HashMap<>();
        Map<Tags, Double> flaggedBytes = new HashMap<>();
        Map<Tags, Double> tableFindings = new HashMap<>();
        Map<Tags, Double> visitSuccess = new HashMap<>();
        Map<Tags, Double> visitDuration = new HashMap<>();
        Map<Tags, Double> visitLast = new HashMap<>();
        if (relations.isPresent()) {
            Map<String, List<RelationFindings.Ref>> indexRefs =
                    RelationFindings.bySubject(state, RelationFindings.INDEX_CHECKS);
            Map<String, List<RelationFindings.Ref>> tableRefs =
                    RelationFindings.bySubject(state, RelationFindings.TABLE_CHECKS);
            for (Relations.DatabaseState db : relations.get().databases().values()) {
                Tags tags = Tags.of("datname", db.datname());
                RelationWindow w = db.window();
                long[] sums = blocks.computeIfAbsent(db.datname(), k -> new long[4]);
                if (db.fresh() && w != null && !db.at().equals(counted.get(db.datname()))) {
                    sums[0] += w.idxBlksHit();
                    sums[1] += w.idxBlksRead();
                    sums[2] += w.heapBlksHit();
                    sums[3] += w.heapBlksRead();
                    counted.put(db.datname(), db.at());
                }
                hit.put(tags, (double) sums[0]);
                read.put(tags, (double) sums[1]);
                heapHit.put(tags, (double) sums[2]);
                heapRead.put(tags, (double) sums[3]);
                indexes.put(tags, (double) db.current().indexes().size());
                indexBytes.put(tags, (double) db.current().indexes().stream().mapToLong(Index::sizeBytes).sum());
                tables.put(tags, (double) db.current().tables().size());
                RelationFindings.INDEX_CHECKS.forEach(check -> {
                    flagged.put(tags.and("check", check), 0.0);
                    flaggedBytes.put(tags.and("check", check), 0.0);
                });
                RelationFindings.TABLE_CHECKS.forEach(check -> tableFindings.put(tags.and("check", check), 0.0));
                for (Index index : db.current().indexes()) {
                    List<RelationFindings.Ref> refs = indexRefs.get(RelationSubjects.of(db.datname(), index.schema(),
                            index.name()));
                    if (refs != null) {
                        for (RelationFindings.Ref ref : refs) {
                            flagged.merge(tags.and("check", ref.check()), 1.0, Double::sum);
                            flaggedBytes.merge(tags.and("check", ref.check()), (double) index.sizeBytes(), Double::sum);
                        }
                    }
                }
                db.current().tables().forEach(t -> {
                    List<RelationFindings.Ref> refs = tableRefs.get(RelationSubjects.of(db.datname(), t.schema(), t.name()));
                    if (refs != null) {
                        refs.forEach(ref -> tableFindings.merge(tags.and("check", ref.check()), 1.0, Double::sum));
                    }
                });
                visitLast.put(tags, db.at().toEpochMilli() / 1000.0);
            }
            for (Relations.Visit v : relations.get().visits()) {
                Tags tags = Tags.of("datname", v.datname());
                visitSuccess.put(tags, v.success() ? 1.0 : 0.0);
                if (v.seconds() != null) {
                    visitDuration.put(tags, v.seconds());
                }
            }
            // A database no longer visited (dropped, excluded) is forgotten.
            blocks.keySet().retainAll(relations.get().databases().keySet());
            counted.keySet().retainAll(relations.get().databases().keySet());
        }
        out.set(INDEXES, indexes);
        out.set(INDEXES_BYTES, indexBytes);
        out.set(TABLES, tables);
        out.set(INDEX_BLOCKS_HIT, hit);
        out.set(INDEX_BLOCKS_READ, read);
        out.set(HEAP_BLOCKS_HIT, heapHit);
        out.set(HEAP_BLOCKS_READ, heapRead);
        out.set(INDEX_FINDINGS, flagged);
        out.set(INDEX_FINDINGS_BYTES, flaggedBytes);
        out.set(TABLE_FINDINGS, tableFindings);
        out.set(VISIT_SUCCESS, visitSuccess);
        out.set(VISIT_DURATION, visitDuration);
        out.set(VISIT_LAST, visitLast);
    }
}
