package io.pgvigil.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The metric names docs/metrics.md lists, and the pg_/pgvigil_ names an exposition text contains. */
public final class MetricsDoc {

    /**
     * Families that exist only with a streaming standby attached, or on a standby; the service test
     * has neither, ReplicationMatrixTest checks them.
     */
    public static final Set<String> NEED_A_STANDBY = io.pgvigil.core.Catalog.metrics(TestConfig.of(java.util.Map.of()))
            .stream().flatMap(g -> g.families().stream())
            .filter(f -> f.section().equals(io.pgvigil.replication.ReplicationMetrics.STANDBYS)
                    || f.section().equals(io.pgvigil.replication.ReplicationMetrics.STANDBY))
            .map(io.pgvigil.metrics.MetricFamily::exposedName).collect(java.util.stream.Collectors.toUnmodifiableSet());

    /**
     * Families a default primary of the newest major does not export (columns of older versions, the
     * pg_stat_io times that need track_io_timing); CheckpointPressureMatrixTest checks every major.
     */
    public static final Set<String> NOT_ON_A_DEFAULT_PRIMARY = io.pgvigil.checkpoints.CheckpointMetrics
            .absentOnADefaultPrimary(PgServer.defaultMajor()).stream().map(io.pgvigil.metrics.MetricFamily::exposedName)
            .collect(java.util.stream.Collectors.toUnmodifiableSet());

    /** Families that exist only with a PgBouncer configured; PgBouncerTest checks them. */
    public static final Set<String> NEED_A_PGBOUNCER = new io.pgvigil.pgbouncer.PgBouncerMetrics().families().stream()
            .map(io.pgvigil.metrics.MetricFamily::exposedName).collect(java.util.stream.Collectors.toUnmodifiableSet());

    private MetricsDoc() {
    }

    public static Set<String> documented() {
        try {
            return names(Files.readString(Path.of("docs/metrics.md")), "(?m)^\\| `((?:pg|pgvigil)_\\w+)` \\|");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sample names (OpenMetrics or classic text), so counters appear with their _total suffix. */
    public static Set<String> exported(String exposition) {
        return names(exposition, "(?m)^((?:pg|pgvigil)_\\w+)[{ ]");
    }

    private static Set<String> names(String text, String regex) {
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
