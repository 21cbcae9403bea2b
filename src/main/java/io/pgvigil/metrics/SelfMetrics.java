package io.pgvigil.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;

/**
 * pgvigil's own state: each collector, the last poll, the poll count.
 *
 * <pre>
 * pgvigil_collector_success{collector="pg_stat_activity"} 1.0
 * pgvigil_last_poll_timestamp_seconds 1.764633E9
 * pgvigil_polls_total{result="failure"} 0.0
 * </pre>
 */
@Singleton
public class SelfMetrics implements MetricsGroup {

    public static final String SECTION = "self";
    public static final MetricFamily COLLECTOR_ENABLED = MetricFamily.gauge(SECTION, "pgvigil_collector_enabled",
            "1 when the collector can run on this server, 0 when it is off (a missing extension, say; `/api/v1/status` gives the reason).",
            "collector");
    public static final MetricFamily COLLECTOR_SUCCESS = MetricFamily.gauge(SECTION, "pgvigil_collector_success",
            "1 when the collector succeeded in the last poll, 0 when it failed. Absent for a collector that is off.",
            "collector");
    public static final MetricFamily COLLECTOR_DURATION = MetricFamily.gauge(SECTION, "pgvigil_collector_duration_seconds",
            "Time the collector's query took in the last poll.",
            "collector");
    public static final MetricFamily LAST_POLL = MetricFamily.gauge(SECTION, "pgvigil_last_poll_timestamp_seconds",
            "Unix time of the last poll that reached the target. Alert on `time() - pgvigil_last_poll_timestamp_seconds > 3 * pgvigil_poll_interval_seconds` for a stale poll.");
    public static final MetricFamily POLL_INTERVAL = MetricFamily.gauge(SECTION, "pgvigil_poll_interval_seconds",
            "`pgvigil.interval`, the configured poll interval; `PgvigilPollStale` fires when the last successful poll is older than 3 of these.");
    public static final MetricFamily POLL_DURATION = MetricFamily.gauge(SECTION, "pgvigil_poll_duration_seconds",
            "Time the last poll took, collectors and checks together.");
    public static final MetricFamily POLLS = MetricFamily.counter(SECTION, "pgvigil_polls",
            "Polls since start: `result=\"success\"` or `\"failure\"`.",
            "result");

    private final double intervalSeconds;

    @Inject
    public SelfMetrics(PgvigilConfig config) {
        this.intervalSeconds = config.interval().toMillis() / 1000.0;
    }

    @Override
    public List<MetricFamily> families() {
        return List.of(COLLECTOR_ENABLED, COLLECTOR_SUCCESS, COLLECTOR_DURATION, LAST_POLL, POLL_INTERVAL, POLL_DURATION,
                POLLS);
    }

    @Override
    public void publish(PollState state, Series out) {
        Map<Tags, Double> enabled = new HashMap<>();
        Map<Tags, Double> success = new HashMap<>();
        Map<Tags, Double> duration = new HashMap<>();
        for (CollectorStatus c : state.collectors()) {
            Tags tags = Tags.of("collector", c.collector());
            enabled.put(tags, c.enabled() ? 1.0 : 0.0);
            if (c.enabled()) {
                success.put(tags, c.success() ? 1.0 : 0.0);
            }
            if (c.durationSeconds() != null) {
                duration.put(tags, c.durationSeconds());
            }
        }
        out.set(COLLECTOR_ENABLED, enabled);
        out.set(COLLECTOR_SUCCESS, success);
        out.set(COLLECTOR_DURATION, duration);
        out.set(LAST_POLL, state.lastSuccessAt() == null ? null : state.lastSuccessAt().toEpochMilli() / 1000.0);
        out.set(POLL_DURATION, state.durationSeconds());
        out.set(POLL_INTERVAL, intervalSeconds);
        out.set(POLLS, Map.of(Tags.of("result", "success"), (double) (state.polls() - state.failedPolls()),
                Tags.of("result", "failure"), (double) state.failedPolls()));
    }
}
