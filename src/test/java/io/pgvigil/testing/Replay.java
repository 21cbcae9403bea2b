package io.pgvigil.testing;

import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.FindingTracker;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.metrics.MetricsPublisher;

/**
 * What {@code core.Monitor} does after collecting, without a server: recorded polls go through the
 * window, every check of the catalog, a {@link FindingTracker} and a real {@link MetricsPublisher}
 * into a Prometheus registry, one at a time, exactly as the poll does it (the previous snapshot is
 * the last one that reached the target; a check without inputs is suspended).
 */
public final class Replay implements AutoCloseable {

    public final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final List<Check> checks;
    private final MetricsPublisher publisher;
    private final FindingTracker tracker = new FindingTracker();
    private final int maxFindings;
    private Snapshot lastUp;
    private Instant lastSuccessAt;
    private long polls;
    private long failedPolls;
    private PollState last;

    public Replay(PgvigilConfig config) {
        this.checks = Catalog.checks(config).stream().sorted(Comparator.comparing(Check::id)).toList();
        this.publisher = new MetricsPublisher(registry, Catalog.metrics(config));
        this.maxFindings = config.findings().max();
    }

    /** With the configuration's defaults, plus {@code key, value} overrides. */
    public static Replay withConfig(String... keyValues) {
        Map<String, String> props = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        return new Replay(TestConfig.of(props));
    }

    /** One recorded poll, judged and published as the monitor would. */
    public PollState poll(Recordings.Poll poll) {
        Snapshot snapshot = poll.snapshot();
        polls++;
        if (!snapshot.up()) {
            failedPolls++;
        }
        Window window = Window.between(lastUp, snapshot);
        if (snapshot.up()) {
            lastUp = snapshot;
            lastSuccessAt = snapshot.at();
        }
        Map<String, List<Evaluation>> evaluations = new TreeMap<>();
        Map<String, Map<String, Double>> thresholds = new TreeMap<>();
        for (Check check : checks) {
            if (!check.enabled()) {
                continue;
            }
            Optional<List<Evaluation>> result = snapshot.up() ? check.evaluate(snapshot, window) : Optional.empty();
            Map<String, Double> byLabel = new TreeMap<>();
            check.thresholds().forEach((severity, value) -> byLabel.put(severity.label(), value));
            thresholds.put(check.id(), byLabel);
            if (result.isPresent()) {
                tracker.apply(check, result.get(), snapshot.at());
                evaluations.put(check.id(), result.get());
            } else {
                tracker.suspend(check.id(), "its inputs were not recorded", snapshot.at());
            }
        }
        List<Finding> open = tracker.open();
        List<Finding> published = open.size() > maxFindings ? open.subList(0, maxFindings) : open;
        last = new PollState(snapshot, window, poll.collectors(), evaluations, published, open, thresholds,
                poll.durationSeconds(), poll.error(), lastSuccessAt, polls, failedPolls);
        publisher.publish(last);
        return last;
    }

    public PollState last() {
        return last;
    }

    public Optional<Finding> finding(String check, String subject) {
        return last.open().stream().filter(f -> f.check().equals(check) && f.subject().equals(subject)).findFirst();
    }

    /** The exposition in the OpenMetrics text format, as /metrics serves it to Prometheus. */
    public String scrape() {
        return registry.scrape(io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_OPENMETRICS_100);
    }

    @Override
    public void close() {
        registry.close();
    }
}
