package io.pgvigil.databases;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.databases.StatDatabaseCollector.Database;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;

/**
 * pg_stat_database's cumulative counters per database: ratios (rollbacks over transactions, blocks
 * hit over accesses) are left to PromQL over any range; the checks' own interval ratios are in
 * {@code pgvigil_check_value}.
 *
 * <pre>
 * pg_stat_database_xact_rollback_total{datname="shop"} 1204.0
 * </pre>
 */
@Singleton
public class DatabaseMetrics implements MetricsGroup {

    public static final String SECTION = "databases";
    public static final MetricFamily XACT_COMMIT = MetricFamily.counter(SECTION, "pg_stat_database_xact_commit",
            "Transactions committed.",
            "datname");
    public static final MetricFamily XACT_ROLLBACK = MetricFamily.counter(SECTION, "pg_stat_database_xact_rollback",
            "Transactions rolled back.",
            "datname");
    public static final MetricFamily DEADLOCKS = MetricFamily.counter(SECTION, "pg_stat_database_deadlocks",
            "Deadlocks detected.",
            "datname");
    public static final MetricFamily TEMP_FILES = MetricFamily.counter(SECTION, "pg_stat_database_temp_files",
            "Temporary files created (sorts and hashes that spilled to disk).",
            "datname");
    public static final MetricFamily TEMP_BYTES = MetricFamily.counter(SECTION, "pg_stat_database_temp_bytes",
            "Bytes written to temporary files.",
            "datname");
    public static final MetricFamily BLKS_HIT = MetricFamily.counter(SECTION, "pg_stat_database_blks_hit",
            "Block reads served from shared buffers.",
            "datname");
    public static final MetricFamily BLKS_READ = MetricFamily.counter(SECTION, "pg_stat_database_blks_read",
            "Block reads that went to the operating system.",
            "datname");

    private static final Map<MetricFamily, ToLongFunction<Database>> COLUMNS = Map.of(XACT_COMMIT, Database::xactCommit,
            XACT_ROLLBACK, Database::xactRollback, DEADLOCKS, Database::deadlocks, TEMP_FILES, Database::tempFiles,
            TEMP_BYTES, Database::tempBytes, BLKS_HIT, Database::blksHit, BLKS_READ, Database::blksRead);

    @Override
    public List<MetricFamily> families() {
        return List.of(XACT_COMMIT, XACT_ROLLBACK, DEADLOCKS, TEMP_FILES, TEMP_BYTES, BLKS_HIT, BLKS_READ);
    }

    @Override
    public void publish(PollState state, Series out) {
        List<Database> databases = state.up()
                ? state.snapshot().get(DatabaseStats.class).map(DatabaseStats::databases).orElse(List.of())
                : List.of();
        COLUMNS.forEach((family, column) -> {
            Map<Tags, Double> series = new HashMap<>();
            databases.forEach(d -> series.put(Tags.of("datname", d.datname()), (double) column.applyAsLong(d)));
            out.set(family, series);
        });
    }
}
