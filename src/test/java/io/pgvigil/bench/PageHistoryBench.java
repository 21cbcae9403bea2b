package io.pgvigil.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import io.pgvigil.core.Finding;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.page.PageHistory;

/**
 * What the page's history ring costs: the heap it retains, the time to record a poll and to build the
 * /api/v1/history answer (and its size as JSON), for 10, 1,000 and 100,000 open findings per poll (the
 * last far beyond pgvigil.findings.max's default of 1,000: a server with 100,000 statements each slow).
 * The ring holds at most {@link PageHistory#MAX_POINTS} polls and {@link PageHistory#MAX_SERIES} series
 * whatever the number of findings, so the heap must not grow with it. Not a test: run it with
 * {@code bench/run.sh PageHistoryBench}; it prints numbers.
 */
public final class PageHistoryBench {

    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper().findAndRegisterModules()
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        System.out.printf("%-10s %-7s %-12s %-16s %-14s %-14s %-12s %-10s%n", "findings", "polls", "ring (alloc)",
                "record alloc/poll", "retained heap", "record (mean)", "view (mean)", "JSON");
        for (int findings : new int[] { 10, 1_000, 100_000 }) {
            List<Finding> open = new ArrayList<>(findings);
            for (int i = 0; i < findings; i++) {
                open.add(new Finding("slow_query", Severity.WARNING, Long.toString(-4328055948728866059L + i), 0.1 + i,
                        0.1, "mean over the threshold", Instant.EPOCH));
            }
            long a0 = JvmMemory.allocated();
            PageHistory history = new PageHistory(PageHistory.MAX_POINTS);
            long ring = JvmMemory.allocated() - a0;
            long recordAllocated = 0;
            int polls = 2 * PageHistory.MAX_POINTS;
            long recordNanos = 0;
            for (int n = 0; n < polls; n++) {
                // pgvigil.findings.max (default 1,000) caps the published findings; all are open.
                List<Finding> published = open.size() > 1000 ? open.subList(0, 1000) : open;
                PollState state = new PollState(new Snapshot(Instant.ofEpochSecond(5L * n), null, Map.of()),
                        Window.EMPTY, List.of(), Map.of(), published, open, Map.of(), 0.01, null, null, n, 0);
                long a = JvmMemory.allocated();
                long t = System.nanoTime();
                history.record(state);
                recordNanos += System.nanoTime() - t;
                recordAllocated += JvmMemory.allocated() - a;
            }
            open = null;
            long withRing = JvmMemory.heap();
            long viewNanos = 0;
            int size = 0;
            for (int i = 0; i < 20; i++) {
                long t = System.nanoTime();
                PageHistory.View view = history.view();
                viewNanos += System.nanoTime() - t;
                size = json.writeValueAsBytes(view).length;
            }
            history = null;
            long retained = withRing - JvmMemory.heap();
            System.out.printf("%-10d %-7d %-12s %-16s %-14s %-14s %-12s %-10s%n", findings, polls, ring / 1024 + " KiB",
                    recordAllocated / polls + " B", retained / 1024 + " KiB", String.format("%.1f µs", recordNanos / 1e3 / polls),
                    String.format("%.2f ms", viewNanos / 1e6 / 20), size / 1024 + " KiB");
        }
    }
}
