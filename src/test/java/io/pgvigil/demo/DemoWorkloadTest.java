package io.pgvigil.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Finding;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.TestMonitor;

/**
 * README promises that {@code ./mvnw quarkus:dev} shows findings for every check. This runs the demo's
 * real database and workload (outside dev mode, its two-minute cycle fast-forwarded two seconds per
 * tick) under the real pipeline and collects the checks that open.
 */
class DemoWorkloadTest {

    @Test
    void demoWorkloadBreachesEveryCheckButReplicationLagAndWraparoundInOneCycle() throws Exception {
        DemoDatabase database = new DemoDatabase();
        DemoWorkload workload = new DemoWorkload();
        workload.demo = database;
        workload.config = TestConfig.of(Map.of());
        long[] simulatedNanos = {0};
        workload.nanoTime = () -> simulatedNanos[0];
        try {
            String url = database.jdbcUrl();
            // Thresholds as in dev mode, except the transaction age: the demo holds its transaction for
            // 90 real seconds, which a fast-forwarded cycle does not have.
            try (TestMonitor monitor = new TestMonitor(TestConfig.of(properties("pgvigil.target.url", url,
                    "pgvigil.target.username", DemoDatabase.ROLE, "pgvigil.target.password", DemoDatabase.PASSWORD,
                    "pgvigil.checks.long-transaction.warning", "2s", "pgvigil.checks.long-transaction.critical", "1h",
                    "pgvigil.checks.replication-slot.warning", "16M", "pgvigil.indexes.interval", "1s",
                    "pgvigil.checks.unused-index.window", "3s",
                    "pgvigil.checks.index-hit-rate.min-block-accesses", "100",
                    // the lock queue and the horizon's age grow with real time and real transactions,
                    // of which a fast-forwarded cycle has less than a real one
                    "pgvigil.checks.lock-wait.warning", "2s", "pgvigil.checks.xmin-horizon.warning", "100",
                    // n_plus_one opens once its pair matched at most of the polls that judged it, over a
                    // quarter of a window of the monitor's (real) time; the fast-forwarded cycle lasts
                    // about 40 s of it
                    "pgvigil.interval", "1s", "pgvigil.checks.n-plus-one.window", "10s")))) {
                TreeSet<String> opened = new TreeSet<>();
                monitor.poll();
                for (int second = 0; second < DemoWorkload.CYCLE_SECONDS; second += 2) {
                    simulatedNanos[0] = second * 1_000_000_000L;
                    workload.tick();
                    if (second % 4 == 2) {
                        monitor.poll().findings().stream().map(Finding::check).forEach(opened::add);
                    }
                }
                assertThat(opened).containsExactlyInAnyOrder("rollback_rate", "pool_saturation", "long_transaction",
                        "slow_query", "n_plus_one", "query_regression", "temp_spill", "replication_slot",
                        "seq_scan_heavy", "duplicate_index", "unused_index", "invalid_index", "index_hit_rate",
                        "lock_wait", "xmin_horizon", "vacuum_lag", "checkpoint_pressure");
            }
        } finally {
            workload.stop();
            database.stop();
        }
    }

    private static Map<String, String> properties(String... keyValues) {
        Map<String, String> properties = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            properties.put(keyValues[i], keyValues[i + 1]);
        }
        return properties;
    }
}
