package io.pgvigil.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.relations.DatabaseVisitor;
import io.pgvigil.core.Collector;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Monitor;
import io.pgvigil.core.PollState;
import io.pgvigil.metrics.MetricsPublisher;
import io.pgvigil.target.TargetConnector;

/**
 * The production pipeline (collect → window → check → publish) wired by hand, so that a test can run
 * polls one at a time against a real server and read the real Prometheus exposition.
 */
public final class TestMonitor implements AutoCloseable {

    public final PgvigilConfig config;
    public final TargetConnector connector;
    public final Monitor monitor;
    /** The monitor's clock: {@link #advance} moves it forward instead of sleeping. */
    public final TestClock clock = new TestClock();
    public final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final MetricsPublisher publisher;
    /** Writes each poll to src/test/resources/recorded with -Dpgtest.record=true (see {@link Recordings}). */
    private final Recordings.Recorder recorder = Recordings.recorder();
    private PollState last;

    public TestMonitor(PgvigilConfig config, Collector<?>... extraCollectors) {
        this.config = config;
        this.connector = new TargetConnector(config);
        this.publisher = new MetricsPublisher(registry, Catalog.metrics(config));
        List<Collector<?>> collectors = new ArrayList<>(Catalog.collectors(config));
        collectors.addAll(List.of(extraCollectors));
        List<Check> checks = checks(config);
        this.monitor = new Monitor(collectors, checks, connector, new DatabaseVisitor(connector, config),
                new io.pgvigil.pgbouncer.PgBouncerPoller(config), config, clock);
    }

    /** Every check of the service, from the catalog (ServiceTest proves the CDI beans are the same). */
    public static List<Check> checks(PgvigilConfig config) {
        return Catalog.checks(config);
    }

    public static TestMonitor watching(PgServer server, String... keyValues) {
        return new TestMonitor(TestConfig.forServer(server, keyValues));
    }

    /** Moves the monitor's clock forward (a visit round, an unused-index window) without waiting. */
    public TestMonitor advance(java.time.Duration by) {
        clock.advance(by);
        return this;
    }

    /** One poll, published as the service would. */
    public PollState poll() {
        last = monitor.poll();
        publisher.publish(last);
        recorder.record(last);
        return last;
    }

    public PollState last() {
        return last;
    }

    /** The value of one sample line of an exposition ({@code name{labels}}), failing when it is absent. */
    public static double sample(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).split(" ")[0]);
            }
        }
        throw new AssertionError("no sample " + series + " in the scrape");
    }

    /** The exposition in the OpenMetrics text format, which /metrics serves to Prometheus. */
    public String scrape() {
        return registry.scrape(io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_OPENMETRICS_100);
    }

    /** The exposition in the classic text format (0.0.4), the one promtool's {@code check metrics} parses. */
    public String scrapeClassic() {
        return registry.scrape(io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_004);
    }

    public Optional<Finding> finding(String check, String subject) {
        return last.findings().stream().filter(f -> f.check().equals(check) && f.subject().equals(subject)).findFirst();
    }

    public Optional<Evaluation> evaluation(String check, String subject) {
        return Optional.ofNullable(last.evaluations().get(check)).flatMap(list -> list.stream()
                .filter(e -> e.subject().equals(subject)).findFirst());
    }

    @Override
    public void close() {
        monitor.close();
        registry.close();
    }
}
