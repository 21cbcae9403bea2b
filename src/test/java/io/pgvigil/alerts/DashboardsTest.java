package io.pgvigil.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.testing.MetricsDoc;

/**
 * dashboards/: every dashboard has what Grafana 10/11 needs to import it, and every metric a panel or
 * an alert queries is one pgvigil documents (and ServiceTest proves documented = exported), so a
 * rename cannot leave a blank panel or a silent alert. AlertsAndDashboardsIT runs the queries on a
 * real Prometheus.
 */
class DashboardsTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Pattern METRIC = Pattern.compile("\\b((?:pg|pgvigil)_[a-z0-9_]+)\\b");

    static List<Path> dashboards() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("dashboards"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Every PromQL expression of a dashboard's panels. */
    static List<String> expressions(JsonNode dashboard) {
        List<String> exprs = new ArrayList<>();
        dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        return exprs;
    }

    @Test
    void thereAreTheSixDashboards() throws IOException {
        assertThat(dashboards()).extracting(p -> p.getFileName().toString()).containsExactly(
                "pgvigil-connections.json", "pgvigil-indexes.json", "pgvigil-maintenance.json", "pgvigil-overview.json",
                "pgvigil-replication.json", "pgvigil-statements.json");
    }

    @Test
    void everyDashboardHasWhatGrafanaNeeds() throws IOException {
        Set<String> uids = new HashSet<>();
        for (Path file : dashboards()) {
            JsonNode d = JSON.readTree(file.toFile());
            String name = file.getFileName().toString();
            assertThat(d.path("uid").asText()).as(name + " uid").matches("[a-z0-9-]{1,40}");
            assertThat(uids.add(d.path("uid").asText())).as(name + " unique uid").isTrue();
            assertThat(d.path("title").asText()).as(name).startsWith("pgvigil / ");
            assertThat(d.path("schemaVersion").asInt()).as(name + " schemaVersion (Grafana 10/11)").isBetween(36, 41);
            assertThat(d.has("id")).as(name + " has no instance-specific id").isFalse();
            List<String> variables = new ArrayList<>();
            d.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
            assertThat(variables).as(name).contains("datasource", "instance");
            JsonNode ds = d.path("templating").path("list").get(0);
            assertThat(ds.path("type").asText()).isEqualTo("datasource");
            assertThat(ds.path("query").asText()).isEqualTo("prometheus");
            Set<Integer> ids = new HashSet<>();
            assertThat(d.path("panels").size()).as(name + " panels").isGreaterThan(4);
            for (JsonNode p : d.path("panels")) {
                String panel = name + " panel " + p.path("title").asText();
                assertThat(ids.add(p.path("id").asInt())).as(panel + " unique id").isTrue();
                if (p.path("type").asText().equals("row")) {
                    // A row only heads the panels below it (the Pooler row): a title, a full width, no query.
                    assertThat(p.path("title").asText()).as(panel).isNotBlank();
                    assertThat(p.path("gridPos").path("w").asInt()).as(panel).isEqualTo(24);
                    assertThat(p.has("targets")).as(panel).isFalse();
                    continue;
                }
                assertThat(p.path("type").asText()).as(panel).isIn("stat", "timeseries", "table", "bargauge", "gauge");
                assertThat(p.path("title").asText()).as(panel).isNotBlank();
                assertThat(p.path("datasource").path("uid").asText()).as(panel).isEqualTo("${datasource}");
                assertThat(p.path("gridPos").path("w").asInt()).as(panel).isPositive();
                assertThat(p.path("fieldConfig").path("defaults").path("unit").asText()).as(panel + " unit").isNotBlank();
                assertThat(p.path("targets").size()).as(panel).isPositive();
                for (JsonNode t : p.path("targets")) {
                    assertThat(t.path("datasource").path("uid").asText()).as(panel).isEqualTo("${datasource}");
                    assertThat(t.path("expr").asText()).as(panel).contains("instance=\"$instance\"");
                }
            }
        }
    }

    @Test
    void panelThresholdsMatchTheChecksDefaults() throws IOException {
        // A few that people read at a glance; the values are the defaults of docs/checks.md.
        assertThresholds("pgvigil-connections.json", "Connection slots in use", 0.8, 0.9);
        assertThresholds("pgvigil-connections.json", "Rollback ratio", 0.1, 0.25);
        assertThresholds("pgvigil-connections.json", "Oldest open transaction", 60, 300);
        assertThresholds("pgvigil-connections.json", "Pooler: longest client wait per pool", 1, 5);
        assertThresholds("pgvigil-statements.json", "Mean execution time (top 10)", 0.1, 1);
        assertThresholds("pgvigil-indexes.json", "Index hit ratio", 0.95, 0.99);
        assertThresholds("pgvigil-replication.json", "Replay lag per standby (from the primary)", 5, 30);
        assertThresholds("pgvigil-replication.json", "Replication slots: retained WAL", 1073741824.0, 10737418240.0);
    }

    @Test
    void poolerPanelsSetAPoolAgainstItsOwnPoolSize() throws IOException {
        // PgBouncer's pool_size limits each (database, user) pool: a sum over a database's users set against
        // it shows a pool "over its size" that is not (two users with 15 each against 20).
        JsonNode d = JSON.readTree(Path.of("dashboards", "pgvigil-connections.json").toFile());
        int checked = 0;
        for (JsonNode p : d.path("panels")) {
            List<String> exprs = new ArrayList<>();
            p.path("targets").forEach(t -> exprs.add(t.path("expr").asText()));
            if (exprs.stream().noneMatch(e -> e.contains("pgvigil_pgbouncer_database_pool_size"))) {
                continue;
            }
            for (String e : exprs) {
                Matcher by = Pattern.compile("by \\(([^)]*)\\)\\s*\\(pgvigil_pgbouncer_pool_").matcher(e);
                while (by.find()) {
                    assertThat(by.group(1).split(",\\s*")).as(p.path("title").asText() + ": " + e)
                            .contains("pgbouncer", "database", "user");
                    checked++;
                }
            }
        }
        assertThat(checked).as("pool series aggregated next to pool_size").isPositive();
    }

    private static void assertThresholds(String file, String title, double... values) throws IOException {
        JsonNode d = JSON.readTree(Path.of("dashboards", file).toFile());
        JsonNode panel = null;
        for (JsonNode p : d.path("panels")) {
            if (p.path("title").asText().equals(title)) {
                panel = p;
            }
        }
        assertThat(panel).as(file + " " + title).isNotNull();
        List<Double> steps = new ArrayList<>();
        panel.path("fieldConfig").path("defaults").path("thresholds").path("steps").forEach(s -> {
            if (!s.path("value").isNull()) {
                steps.add(s.path("value").asDouble());
            }
        });
        assertThat(steps).as(file + " " + title).containsExactly(java.util.Arrays.stream(values).boxed().toArray(Double[]::new));
    }

    @Test
    void everyMetricThatAPanelOrAnAlertQueriesIsDocumented() throws IOException {
        Set<String> documented = MetricsDoc.documented();
        Set<String> queried = new TreeSet<>();
        for (Path file : dashboards()) {
            expressions(JSON.readTree(file.toFile())).forEach(e -> queried.addAll(metrics(e)));
        }
        AlertRulesTest.rules(AlertRulesTest.YAML.readTree(AlertRulesTest.RULES.toFile()))
                .forEach(r -> queried.addAll(metrics(r.path("expr").asText())));
        assertThat(queried).isNotEmpty();
        assertThat(documented).as("metrics queried by dashboards/ and alerts/ that docs/metrics.md lacks")
                .containsAll(queried);
    }

    static Set<String> metrics(String expr) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(expr);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }
}
