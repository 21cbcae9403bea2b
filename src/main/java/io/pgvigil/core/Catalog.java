package io.pgvigil.core;

import java.util.List;
import java.util.Optional;

import io.pgvigil.core.Collector;
import io.pgvigil.replication.ReplicationSlotsCollector;
import io.pgvigil.activity.SettingsCollector;
import io.pgvigil.activity.StatActivityCollector;
import io.pgvigil.databases.StatDatabaseCollector;
import io.pgvigil.replication.StatReplicationCollector;
import io.pgvigil.statements.StatStatementsCollector;
import io.pgvigil.replication.WalReceiverCollector;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.activity.ActivityMetrics;
import io.pgvigil.databases.DatabaseMetrics;
import io.pgvigil.metrics.FindingMetrics;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.metrics.SelfMetrics;
import io.pgvigil.metrics.TargetMetrics;
import io.pgvigil.relations.RelationMetrics;
import io.pgvigil.replication.ReplicationMetrics;
import io.pgvigil.statements.StatementMetrics;
import io.pgvigil.activity.PoolSaturationCheck;
import io.pgvigil.activity.LongTransactionCheck;
import io.pgvigil.activity.LockWaitCheck;
import io.pgvigil.databases.RollbackRateCheck;
import io.pgvigil.statements.SlowQueryCheck;
import io.pgvigil.statements.NPlusOneCheck;
import io.pgvigil.statements.QueryRegressionCheck;
import io.pgvigil.statements.TempSpillCheck;
import io.pgvigil.replication.ReplicationLagCheck;
import io.pgvigil.replication.ReplicationSlotCheck;
import io.pgvigil.relations.IndexHitRateCheck;
import io.pgvigil.relations.UnusedIndexCheck;
import io.pgvigil.relations.DuplicateIndexCheck;
import io.pgvigil.relations.InvalidIndexCheck;
import io.pgvigil.relations.SeqScanHeavyCheck;
import io.pgvigil.checkpoints.CheckpointMetrics;
import io.pgvigil.checkpoints.CheckpointPressureCheck;
import io.pgvigil.checkpoints.StatBgwriterCollector;
import io.pgvigil.checkpoints.StatIoCollector;
import io.pgvigil.checkpoints.StatWalCollector;
import io.pgvigil.horizon.HorizonMetrics;
import io.pgvigil.horizon.XminHorizonCheck;
import io.pgvigil.horizon.XminHorizonCollector;
import io.pgvigil.vacuum.DatabaseAgeCollector;
import io.pgvigil.vacuum.ProgressVacuumCollector;
import io.pgvigil.vacuum.VacuumLagCheck;
import io.pgvigil.vacuum.VacuumMetrics;
import io.pgvigil.vacuum.XidWraparoundCheck;
import io.pgvigil.pgbouncer.PgBouncerMetrics;
import io.pgvigil.pgbouncer.PoolerSaturationCheck;

/**
 * Every check pgvigil has, in the order docs list them, every collector of the poll and every
 * metrics group. A check declares itself in its own class
 * ({@code SPEC}) and is added here once; the alert rules, their promtool cases and the docs tables are
 * generated from this list ({@code CatalogFilesTest} says how), and tests build the checks from it.
 * {@code CatalogBeansTest} proves that the CDI beans are exactly these.
 */
public final class Catalog {

    public static final List<CheckSpec> CHECKS = List.of(PoolSaturationCheck.SPEC, RollbackRateCheck.SPEC,
            LongTransactionCheck.SPEC, SlowQueryCheck.SPEC, NPlusOneCheck.SPEC, QueryRegressionCheck.SPEC,
            TempSpillCheck.SPEC, ReplicationLagCheck.SPEC, ReplicationSlotCheck.SPEC, IndexHitRateCheck.SPEC,
            UnusedIndexCheck.SPEC, DuplicateIndexCheck.SPEC, InvalidIndexCheck.SPEC, SeqScanHeavyCheck.SPEC,
            LockWaitCheck.SPEC, XidWraparoundCheck.SPEC, XminHorizonCheck.SPEC, VacuumLagCheck.SPEC,
            CheckpointPressureCheck.SPEC, PoolerSaturationCheck.SPEC);

    private Catalog() {
    }

    public static Optional<CheckSpec> check(String id) {
        return CHECKS.stream().filter(s -> s.id().equals(id)).findFirst();
    }

    /** Every collector of the poll, built as the CDI container builds its beans (database visits are not collectors). */
    public static List<Collector<?>> collectors(PgvigilConfig config) {
        return List.of(new StatActivityCollector(), new SettingsCollector(), new StatDatabaseCollector(),
                new StatStatementsCollector(config), new ReplicationSlotsCollector(), new StatReplicationCollector(),
                new WalReceiverCollector(), new DatabaseAgeCollector(), new ProgressVacuumCollector(),
                new XminHorizonCollector(), new StatBgwriterCollector(), new StatWalCollector(), new StatIoCollector());
    }

    /** Every metrics group, in the order docs/metrics.md lists their sections. */
    public static List<MetricsGroup> metrics(PgvigilConfig config) {
        return List.of(new TargetMetrics(), new ActivityMetrics(), new DatabaseMetrics(), new StatementMetrics(config),
                new ReplicationMetrics(), new RelationMetrics(), new VacuumMetrics(), new HorizonMetrics(),
                new CheckpointMetrics(), new PgBouncerMetrics(), new FindingMetrics(), new SelfMetrics(config));
    }

    /** Every check, built from {@code config} as the CDI container builds its beans. */
    public static List<Check> checks(PgvigilConfig config) {
        return CHECKS.stream().map(s -> s.factory().apply(config)).toList();
    }
}
