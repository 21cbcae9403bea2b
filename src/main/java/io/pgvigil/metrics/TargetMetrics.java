package io.pgvigil.metrics;

import java.util.List;
import java.util.Map;

import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.PollState;
import io.pgvigil.target.ServerInfo;

/**
 * Whether the target answers, and what it is.
 *
 * <pre>
 * pg_up 1.0
 * pg_in_recovery 0.0
 * pg_server_version_num 170004.0
 * pg_postmaster_start_time_seconds{process_name="postmaster"} 1.764633E9
 * </pre>
 */
@Singleton
public class TargetMetrics implements MetricsGroup {

    public static final String SECTION = "target";
    public static final MetricFamily UP = MetricFamily.gauge(SECTION, "pg_up",
            "1 when the last poll reached the target, 0 when it could not. Always present.");
    public static final MetricFamily IN_RECOVERY = MetricFamily.gauge(SECTION, "pg_in_recovery",
            "1 on a standby (`pg_is_in_recovery()`), 0 on a primary.");
    public static final MetricFamily SERVER_VERSION_NUM = MetricFamily.gauge(SECTION, "pg_server_version_num",
            "`server_version_num`, e.g. 170004.");
    public static final MetricFamily POSTMASTER_START_TIME = MetricFamily.gauge(SECTION, "pg_postmaster_start_time_seconds",
            "`pg_postmaster_start_time()` as Unix time; a change means the server restarted. `process_name` is always `postmaster`, as postgres_exporter labels the same series.",
            "process_name");

    @Override
    public List<MetricFamily> families() {
        return List.of(UP, IN_RECOVERY, SERVER_VERSION_NUM, POSTMASTER_START_TIME);
    }

    @Override
    public void publish(PollState state, Series out) {
        boolean up = state.up();
        ServerInfo server = up ? state.snapshot().server() : null;
        out.set(UP, up ? 1.0 : 0.0);
        out.set(IN_RECOVERY, up ? (server.inRecovery() ? 1.0 : 0.0) : null);
        out.set(SERVER_VERSION_NUM, up ? (double) server.versionNum() : null);
        out.set(POSTMASTER_START_TIME, up ? Map.of(Tags.of("process_name", "postmaster"), server.startTimeSeconds())
                : Map.of());
    }
}
