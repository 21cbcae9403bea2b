package io.pgvigil.bench;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Map;

import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;
import io.pgvigil.testing.PgBouncerServer;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.TestMonitor;

/**
 * What watching a PgBouncer adds to a poll: Debian's PgBouncer (transaction pooling) in front of a
 * real PostgreSQL, with {@code pools} pools that clients have used (databases {@code app1..appN}, one
 * user), read {@code rounds} times through the production pipeline. Prints the PgBouncer collector's
 * time (login excluded: the console connection is kept) and the whole poll's, with and without the
 * PgBouncer configured, as median / p90 / p99 / max. Not a test: {@code bench/run.sh PgBouncerBench
 * [major] [rounds] [pools]}.
 */
public final class PgBouncerBench {

    public static void main(String[] args) throws Exception {
        int major = args.length > 0 ? Integer.parseInt(args[0]) : 18;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int pools = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        try (PgServer pg = PgServer.start(major, Map.of("max_connections", String.valueOf(pools + 30)));
                PgBouncerServer pgb = PgBouncerServer.start(pg, "transaction", 1, pools)) {
            for (int i = 1; i <= pools; i++) {
                try (Connection c = pgb.connectApp(PgBouncerServer.DATABASE + i); Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
            }
            try (TestMonitor with = new TestMonitor(TestConfig.forServer(pg, "pgvigil.indexes.enabled", "false",
                    "pgvigil.pgbouncer.url", pgb.url(), "pgvigil.pgbouncer.username", PgBouncerServer.STATS_USER,
                    "pgvigil.pgbouncer.password", PgBouncerServer.STATS_PASSWORD));
                    TestMonitor without = new TestMonitor(TestConfig.forServer(pg, "pgvigil.indexes.enabled", "false"))) {
                PollState first = with.poll();
                int seen = first.snapshot().get(io.pgvigil.pgbouncer.Poolers.class).orElseThrow().readings().get(0).pools().size();
                for (int i = 0; i < 50; i++) { // warm-up
                    with.poll();
                    without.poll();
                }
                double[] console = new double[rounds];
                double[] pollWith = new double[rounds];
                double[] pollWithout = new double[rounds];
                for (int i = 0; i < rounds; i++) {
                    PollState s = with.poll();
                    CollectorStatus status = s.collectors().stream().filter(c -> c.collector().startsWith("pgbouncer:"))
                            .findFirst().orElseThrow();
                    if (!status.success()) {
                        throw new IllegalStateException("PgBouncer poll failed: " + status.error());
                    }
                    console[i] = status.durationSeconds() * 1000;
                    pollWith[i] = s.durationSeconds() * 1000;
                    pollWithout[i] = without.poll().durationSeconds() * 1000;
                }
                System.out.printf("PostgreSQL %d, PgBouncer %s, %d pools in SHOW POOLS, %d rounds%n", major,
                        first.snapshot().get(io.pgvigil.pgbouncer.Poolers.class).orElseThrow().readings().get(0).version(),
                        seen, rounds);
                print("PgBouncer console (3 SHOW)", console);
                print("whole poll with PgBouncer", pollWith);
                print("whole poll without", pollWithout);
            }
        }
    }

    private static void print(String what, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        System.out.printf("%-28s median %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms%n", what, sorted[sorted.length / 2],
                sorted[(int) (sorted.length * 0.9)], sorted[(int) (sorted.length * 0.99)], sorted[sorted.length - 1]);
    }
}
