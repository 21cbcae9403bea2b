package io.pgvigil.vacuum;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAge;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAges;
import io.pgvigil.vacuum.ProgressVacuumCollector.Autovacuum;

/**
 * Freeze ages per database (every poll), autovacuum workers at work per database and the settings
 * they are measured against, and, from the database visits, dead rows and the tables past their
 * autovacuum trigger per database (never per table: {@code GET /api/v1/tables} has those).
 *
 * <pre>
 * pg_database_datfrozenxid_age{datname="shop"} 1.199999284E9
 * pgvigil_autovacuum_workers{datname="shop"} 1.0
 * pgvigil_database_dead_tuples{datname="shop"} 20000.0
 * </pre>
 */
@Singleton
public class VacuumMetrics implements MetricsGroup {

    public static final String SECTION = "vacuum";
    public static final MetricFamily XID_AGE = MetricFamily.gauge(SECTION, "pg_database_datfrozenxid_age",
            "`age(datfrozenxid)`: transactions since the oldest transaction ID not yet frozen in the database. IDs wrap around at 2^31 (2,147,483,648); `xid_wraparound` judges it.",
            "datname");
    public static final MetricFamily MXID_AGE = MetricFamily.gauge(SECTION, "pg_database_datminmxid_age",
            "`mxid_age(datminmxid)`: MultiXact IDs since the oldest one still in use in the database (row locks shared by several transactions); wraps around at 2^31 too.",
            "datname");
    public static final MetricFamily FREEZE_MAX_AGE = MetricFamily.gauge(SECTION, "pg_settings_autovacuum_freeze_max_age",
            "`autovacuum_freeze_max_age`: the transaction ID age from which autovacuum vacuums a table to prevent wraparound, even when autovacuum is off.");
    public static final MetricFamily MULTIXACT_FREEZE_MAX_AGE = MetricFamily.gauge(SECTION,
            "pg_settings_autovacuum_multixact_freeze_max_age",
            "`autovacuum_multixact_freeze_max_age`: the same for MultiXact IDs.");
    public static final MetricFamily MAX_WORKERS = MetricFamily.gauge(SECTION, "pg_settings_autovacuum_max_workers",
            "`autovacuum_max_workers`: autovacuum workers that may run at once, over all databases.");
    public static final MetricFamily WORKERS = MetricFamily.gauge(SECTION, "pgvigil_autovacuum_workers",
            "Autovacuum workers vacuuming or analyzing a table of the database now (`pg_stat_progress_vacuum`, `_analyze`, `_cluster` with the backend type of each); 0 when none. `sum()` over databases against `pg_settings_autovacuum_max_workers` shows whether autovacuum has a worker to spare.",
            "datname");
    public static final MetricFamily DEAD_TUPLES = MetricFamily.gauge(SECTION, "pgvigil_database_dead_tuples",
            "Dead rows (`n_dead_tup`) summed over the database's user tables, as of its latest visit.",
            "datname");
    public static final MetricFamily TABLES_OVER_TRIGGER = MetricFamily.gauge(SECTION,
            "pgvigil_database_tables_over_autovacuum_trigger",
            "User tables with more dead rows than their own autovacuum trigger (`autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × reltuples`, their storage parameters first), as of the latest visit: the tables autovacuum should be vacuuming. `vacuum_lag` flags those at a multiple of it.",
            "datname");

    @Override
    public List<MetricFamily> families() {
        return List.of(XID_AGE, MXID_AGE, FREEZE_MAX_AGE, MULTIXACT_FREEZE_MAX_AGE, MAX_WORKERS, WORKERS, DEAD_TUPLES,
                TABLES_OVER_TRIGGER);
    }

    @Override
    public void publish(PollState state, Series out) {
        Optional<DatabaseAges> ages = state.up() ? state.snapshot().get(DatabaseAges.class) : Optional.empty();
        Optional<Autovacuum> autovacuum = state.up() ? state.snapshot().get(Autovacuum.class) : Optional.empty();
        Optional<Relations> relations = state.up() ? state.snapshot().get(Relations.class) : Optional.empty();
        Map<Tags, Double> xid = new HashMap<>();
        Map<Tags, Double> mxid = new HashMap<>();
        Map<Tags, Double> workers = new HashMap<>();
        Map<String, Integer> busy = autovacuum.map(Autovacuum::workersByDatabase).orElse(Map.of());
        ages.ifPresent(a -> {
            for (DatabaseAge db : a.databases()) {
                Tags tags = Tags.of("datname", db.datname());
                xid.put(tags, (double) db.xidAge());
                mxid.put(tags, (double) db.mxidAge());
                if (autovacuum.isPresent()) {
                    workers.put(tags, (double) busy.getOrDefault(db.datname(), 0));
                }
            }
        });
        Map<Tags, Double> dead = new HashMap<>();
        Map<Tags, Double> over = new HashMap<>();
        relations.ifPresent(r -> {
            for (Relations.DatabaseState db : r.databases().values()) {
                Tags tags = Tags.of("datname", db.datname());
                dead.put(tags, (double) db.current().tables().stream().mapToLong(Table::deadRows).sum());
                autovacuum.ifPresent(a -> over.put(tags, (double) db.current().tables().stream()
                        .filter(t -> AutovacuumTrigger.of(t, a.settings()).exceededBy(t.deadRows())).count()));
            }
        });
        out.set(XID_AGE, xid);
        out.set(MXID_AGE, mxid);
        out.set(FREEZE_MAX_AGE, ages.map(a -> (double) a.freezeMaxAge()).orElse(null));
        out.set(MULTIXACT_FREEZE_MAX_AGE, ages.map(a -> (double) a.multixactFreezeMaxAge()).orElse(null));
        out.set(MAX_WORKERS, autovacuum.map(a -> (double) a.settings().maxWorkers()).orElse(null));
        out.set(WORKERS, workers);
        out.set(DEAD_TUPLES, dead);
        out.set(TABLES_OVER_TRIGGER, over);
    }
}
