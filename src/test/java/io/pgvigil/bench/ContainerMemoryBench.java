package io.pgvigil.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PgServer;

/**
 * The packaged service's memory under the JVM options of deploy/k8s (a 320 MiB container limit is
 * simulated with -XX:MaxRAM, which is what the JVM reads from the cgroup): resident set size after
 * start, after a number of polls and after back-to-back scrapes and API calls. Not a test: run
 * {@code ./mvnw package -DskipTests && bench/run.sh ContainerMemoryBench [scrapes]}.
 */
public final class ContainerMemoryBench {

    public static void main(String[] args) throws Exception {
        int scrapes = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        List<String> jvm = List.of("-XX:MaxRAM=320m", "-XX:MaxRAMPercentage=50", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xmn24m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
                "-XX:+ExitOnOutOfMemoryError");
        try (PgServer pg = PgServer.start(18, Map.of());
                PackagedApp app = PackagedApp.start(Map.of("pgvigil.target.url", pg.jdbcUrl("postgres"),
                        "pgvigil.target.username", PgServer.MONITOR_ROLE, "pgvigil.target.password",
                        PgServer.MONITOR_PASSWORD, "pgvigil.interval", "1s", "pgvigil.indexes.interval", "2s"), jvm, Map.of("MALLOC_ARENA_MAX", "2"))) {
            app.port();
            long started = System.nanoTime();
            app.awaitMetric("pg_up 1.0");
            System.out.printf("JVM options: %s (MALLOC_ARENA_MAX=2)%n", String.join(" ", jvm));
            System.out.printf("up and polling after %.1f s%n", (System.nanoTime() - started) / 1e9);
            System.out.printf("RSS after start:                 %6.1f MiB%n", rss(app));
            Thread.sleep(60_000);
            System.out.printf("RSS after 60 polls (1 s):        %6.1f MiB%n", rss(app));
            double peak = 0;
            for (int i = 0; i < scrapes; i++) {
                app.metrics();
                app.get("/api/v1/statements?limit=100");
                app.get("/api/v1/indexes");
                if (i % 100 == 0) {
                    peak = Math.max(peak, rss(app));
                }
            }
            peak = Math.max(peak, rss(app));
            System.out.printf("RSS peak during %d scrapes + API: %6.1f MiB%n", scrapes, peak);
            Thread.sleep(10_000);
            System.out.printf("RSS 10 s later:                  %6.1f MiB%n", rss(app));
        }
    }

    static double rss(PackagedApp app) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + app.pid() + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return -1;
    }
}
