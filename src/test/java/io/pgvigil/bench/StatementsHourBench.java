package io.pgvigil.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgvigil.core.PollState;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.statements.StatementsHour;
import io.pgvigil.target.ServerInfo;

/**
 * What the page's "top statements of the last hour" costs: the heap {@link StatementsHour} retains after
 * two hours of 5 s polls, the time and allocation of recording a poll, and the time to build the hour
 * (the /api/v1/statements/hour answer before sorting), for 100, 5,000 (pg_stat_statements.max's default)
 * and 100,000 distinct statements all running in every interval, the worst case. Memory must not grow
 * with the number of statements beyond the one open 5-minute slice's 5,000. Not a test: run it with
 * {@code bench/run.sh StatementsHourBench}; it prints numbers.
 */
public final class StatementsHourBench {

    public static void main(String[] args) throws Exception {
        System.out.printf("%-11s %-7s %-16s %-14s %-14s %-12s %-10s%n", "statements", "polls", "record alloc/poll",
                "retained heap", "record (mean)", "view (mean)", "items");
        ServerInfo server = new ServerInfo(180000, "18.0", false, 0, Map.of(), 1, 8192, "pg_stat_statements", 10);
        for (int n : new int[] { 100, 5_000, 100_000 }) {
            List<Statement> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                entries.add(new Statement(-4328055948728866059L + i, 16384, "shop", 10, "app", true, 0, 0, 0, 0, 0, 0, 0,
                        null, ("SELECT id, title FROM posts WHERE user_id = $1 /* statement " + i + " */").intern()));
            }
            Statements statements = new Statements(entries, 0L, null, 0, 8192, 0);
            long before = JvmMemory.heap();
            StatementsHour hour = new StatementsHour();
            int polls = 2 * 720;
            long recordNanos = 0;
            long recordAllocated = 0;
            for (int p = 0; p < polls; p++) {
                List<Window.StatementDelta> deltas = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    // Heavier statements further down the list, and some spread so that slices differ.
                    deltas.add(new Window.StatementDelta(entries.get(i), 1 + (i + p) % 7, 0.001 * (1 + (i * 31 + p) % 97), 0,
                            3, 10, 1, i % 50 == 0 ? 4 : 0));
                }
                Window window = new Window(5, Map.of(), java.util.Set.of(), deltas, 0);
                PollState state = new PollState(new Snapshot(Instant.ofEpochSecond(5L * p), server,
                        Map.of(Statements.class, statements)), window, List.of(), Map.of(), List.of(), List.of(), Map.of(),
                        0.01, null, null, p, 0);
                long a = JvmMemory.allocated();
                long t = System.nanoTime();
                hour.record(state);
                recordNanos += System.nanoTime() - t;
                recordAllocated += JvmMemory.allocated() - a;
            }
            long viewNanos = 0;
            int items = 0;
            for (int i = 0; i < 20; i++) {
                long t = System.nanoTime();
                items = hour.view(statements).items().size();
                viewNanos += System.nanoTime() - t;
            }
            // The statements (the snapshot's, texts included) are alive before and after: the difference is the hour's.
            long retained = JvmMemory.heap() - before;
            System.out.printf("%-11d %-7d %-16s %-14s %-14s %-12s %-10d%n", n, polls, recordAllocated / polls / 1024 + " KiB",
                    retained / 1024 + " KiB", String.format("%.2f ms", recordNanos / 1e6 / polls),
                    String.format("%.2f ms", viewNanos / 1e6 / 20), items);
            if (hour.view(statements).asOf() == null || entries.isEmpty()) {
                throw new IllegalStateException("nothing recorded");
            }
        }
    }
}
