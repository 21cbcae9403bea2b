package io.pgvigil.statements;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Tags;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Window;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;

/**
 * pg_stat_statements: per-statement counters for the top {@code pgvigil.statements.top} statements of
 * the interval by execution time only (labels queryid, datname, user; never the text), and
 * per-database sums of every statement that pgvigil keeps as true counters.
 *
 * <pre>
 * pg_stat_statements_calls_total{datname="shop",queryid="-4123",user="app"} 1500.0
 * pgvigil_statements_calls_total{datname="shop"} 98211.0
 * </pre>
 */
@Singleton
public class StatementMetrics implements MetricsGroup {

    public static final String SECTION = "statements";
    public static final MetricFamily CALLS = MetricFamily.counter(SECTION, "pg_stat_statements_calls",
            "`calls` of a top-N statement.",
            "queryid", "datname", "user");
    public static final MetricFamily EXEC_SECONDS = MetricFamily.counter(SECTION, "pg_stat_statements_exec_seconds",
            "`total_exec_time` of a top-N statement, in seconds.",
            "queryid", "datname", "user");
    public static final MetricFamily ROWS = MetricFamily.counter(SECTION, "pg_stat_statements_rows",
            "`rows` returned or affected by a top-N statement.",
            "queryid", "datname", "user");
    public static final MetricFamily TEMP_BYTES = MetricFamily.counter(SECTION, "pg_stat_statements_temp_bytes",
            "`temp_blks_written × block_size` of a top-N statement.",
            "queryid", "datname", "user");
    public static final MetricFamily DATABASE_CALLS = MetricFamily.counter(SECTION, "pgvigil_statements_calls",
            "Calls of every statement of the database, summed by pgvigil over each interval since pgvigil started (immune to entries being evicted).",
            "datname");
    public static final MetricFamily DATABASE_EXEC_SECONDS = MetricFamily.counter(SECTION, "pgvigil_statements_exec_seconds",
            "Execution time of every statement of the database, summed the same way.",
            "datname");
    public static final MetricFamily ENTRIES = MetricFamily.gauge(SECTION, "pg_stat_statements_entries",
            "Entries in pg_stat_statements now, pgvigil's own included; near `pg_stat_statements.max` means entries are being evicted.");
    public static final MetricFamily OWN_ENTRIES = MetricFamily.gauge(SECTION, "pgvigil_own_statements",
            "Entries of pg_stat_statements that belong to pgvigil's own role (left out of every other series); the same number poll after poll, a few dozen at most.");
    public static final MetricFamily DEALLOCATIONS = MetricFamily.counter(SECTION, "pg_stat_statements_deallocations",
            "Entries evicted to make room (`pg_stat_statements_info.dealloc`, PostgreSQL 14+).");
    public static final MetricFamily OUTSIDE_TOP = MetricFamily.gauge(SECTION, "pgvigil_statements_outside_top",
            "Statements that ran in the last interval but have no series of their own (beyond the top N).");
    public static final MetricFamily TEXT_FETCHES = MetricFamily.counter(SECTION, "pgvigil_statement_text_fetches",
            "Queries pgvigil made to read query texts; it reads texts only for statements it has not seen, so this stays flat in steady state.");

    private final int top;
    /** datname → {calls, exec seconds} summed over every window since pgvigil started: true counters. */
    private final Map<String, double[]> totals = new HashMap<>();

    @Inject
    public StatementMetrics(PgvigilConfig config) {
        this.top = config.statements().top();
    }

    @Override
    public List<MetricFamily> families() {
        return List.of(CALLS, EXEC_SECONDS, ROWS, TEMP_BYTES, DATABASE_CALLS, DATABASE_EXEC_SECONDS, ENTRIES,
                OWN_ENTRIES, DEALLOCATIONS, OUTSIDE_TOP, TEXT_FETCHES);
    }

    @Override
    public synchronized void publish(PollState state, Series out) {
        Optional<Statements> statements = state.up() ? state.snapshot().get(Statements.class) : Optional.empty();
        Window window = state.window();
        Map<List<String>, Double> intervalSeconds = new HashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            intervalSeconds.merge(labels(s), d.execSeconds(), Double::sum);
            double[] db = totals.computeIfAbsent(nonNull(s.datname()), k -> new double[2]);
            db[0] += d.calls();
            db[1] += d.execSeconds();
        }
        Set<List<String>> wanted = new HashSet<>(intervalSeconds.entrySet().stream()
                .sorted(Map.Entry.<List<String>, Double>comparingByValue().reversed()).limit(top)
                .map(Map.Entry::getKey).toList());
        Map<List<String>, double[]> perStatement = new HashMap<>();
        statements.ifPresent(all -> {
            for (Statement s : all.entries()) {
                List<String> labels = labels(s);
                if (wanted.contains(labels)) {
                    double[] v = perStatement.computeIfAbsent(labels, k -> new double[4]);
                    v[0] += s.calls();
                    v[1] += s.execSeconds();
                    v[2] += s.rows();
                    v[3] += (double) s.tempBlksWritten() * all.blockSize();
                }
            }
        });
        MetricFamily[] columns = {CALLS, EXEC_SECONDS, ROWS, TEMP_BYTES};
        for (int i = 0; i < columns.length; i++) {
            Map<Tags, Double> series = new HashMap<>();
            int column = i;
            perStatement.forEach((labels, v) -> series.put(tags(labels), v[column]));
            out.set(columns[i], series);
        }
        Map<Tags, Double> dbCalls = new HashMap<>();
        Map<Tags, Double> dbSeconds = new HashMap<>();
        if (statements.isPresent()) {
            totals.forEach((db, v) -> {
                dbCalls.put(Tags.of("datname", db), v[0]);
                dbSeconds.put(Tags.of("datname", db), v[1]);
            });
        }
        out.set(DATABASE_CALLS, dbCalls);
        out.set(DATABASE_EXEC_SECONDS, dbSeconds);
        out.set(ENTRIES, statements.map(s -> (double) s.entries().size() + s.ownEntries()).orElse(null));
        out.set(OWN_ENTRIES, statements.map(s -> (double) s.ownEntries()).orElse(null));
        out.set(DEALLOCATIONS, statements.map(Statements::deallocations).map(Long::doubleValue).orElse(null));
        out.set(OUTSIDE_TOP, statements.isPresent() ? (double) Math.max(0, intervalSeconds.size() - top) : null);
        out.set(TEXT_FETCHES, statements.map(s -> (double) s.textFetches()).orElse(null));
    }

    private static List<String> labels(Statement s) {
        return List.of(Long.toString(s.queryid()), nonNull(s.datname()), nonNull(s.user()));
    }

    private static Tags tags(List<String> labels) {
        return Tags.of("queryid", labels.get(0), "datname", labels.get(1), "user", labels.get(2));
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }
}
