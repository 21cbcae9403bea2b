package io.pgvigil.check;

import java.util.List;
import java.util.Optional;

import io.pgvigil.collect.Collector;
import io.pgvigil.collect.ReplicationSlotsCollector;
import io.pgvigil.collect.SettingsCollector;
import io.pgvigil.collect.StatActivityCollector;
import io.pgvigil.collect.StatDatabaseCollector;
import io.pgvigil.collect.StatReplicationCollector;
import io.pgvigil.collect.StatStatementsCollector;
import io.pgvigil.collect.WalReceiverCollector;
import io.pgvigil.config.PgvigilConfig;

/**
 * Every check pgvigil has, in the order docs list them, and every collector of the poll. A check declares itself in its own class
 * ({@code SPEC}) and is added here once; the alert rules, their promtool cases and the docs tables are
 * generated from this list ({@code CatalogFilesTest} says how), and tests build the checks from it.
 * {@code CatalogBeansTest} proves that the CDI beans are exactly these.
 */
public final class Catalog {

    public static final List<CheckSpec> CHECKS = List.of(PoolSaturationCheck.SPEC, RollbackRateCheck.SPEC,
            LongTransactionCheck.SPEC, SlowQueryCheck.SPEC, NPlusOneCheck.SPEC, QueryRegressionCheck.SPEC,
            TempSpillCheck.SPEC, ReplicationLagCheck.SPEC, ReplicationSlotCheck.SPEC, IndexHitRateCheck.SPEC,
            UnusedIndexCheck.SPEC, DuplicateIndexCheck.SPEC, InvalidIndexCheck.SPEC, SeqScanHeavyCheck.SPEC);

    private Catalog() {
    }

    public static Optional<CheckSpec> check(String id) {
        return CHECKS.stream().filter(s -> s.id().equals(id)).findFirst();
    }

    /** Every collector of the poll, built as the CDI container builds its beans (database visits are not collectors). */
    public static List<Collector<?>> collectors(PgvigilConfig config) {
        return List.of(new StatActivityCollector(), new SettingsCollector(), new StatDatabaseCollector(),
                new StatStatementsCollector(config), new ReplicationSlotsCollector(), new StatReplicationCollector(),
                new WalReceiverCollector());
    }

    /** Every check, built from {@code config} as the CDI container builds its beans. */
    public static List<Check> checks(PgvigilConfig config) {
        return CHECKS.stream().map(s -> s.factory().apply(config)).toList();
    }
}
