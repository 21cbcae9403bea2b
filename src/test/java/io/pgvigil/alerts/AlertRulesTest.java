package io.pgvigil.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.testing.Promtool;

/**
 * alerts/: the rules load in promtool and pass their unit tests, cover every check and severity, link
 * to runbooks that exist, and the Kubernetes PrometheusRule carries exactly the same groups.
 */
class AlertRulesTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final Path RULES = Path.of("alerts/pgvigil-rules.yml");
    /** Generated cases for every check alert, and hand-written ones for the alerts on pgvigil itself. */
    static final List<Path> RULE_TESTS = List.of(Path.of("alerts/tests/pgvigil-checks.test.yml"),
            Path.of("alerts/tests/pgvigil-service.test.yml"));
    /** PgvigilTargetDown, PgvigilPollStale, PgvigilCollectorFailing, PgvigilDatabaseVisitFailing. */
    static final int SERVICE_ALERTS = 5;
    static final Path PROMETHEUS_RULE = Path.of("alerts/kubernetes/pgvigil-prometheusrule.yaml");
    static final String RUNBOOK_BASE = "https://github.com/pgvigil/pgvigil/blob/main/";

    /** One alert per check and severity of the catalog, and the alerts on pgvigil itself. */
    static int expectedAlerts() {
        return SERVICE_ALERTS + Catalog.CHECKS.stream().mapToInt(c -> c.severities().size()).sum();
    }

    /** The severities each check can report, from the catalog. */
    static Map<String, Set<String>> severitiesByCheck() {
        Map<String, Set<String>> expected = new LinkedHashMap<>();
        for (CheckSpec spec : Catalog.CHECKS) {
            Set<String> severities = new TreeSet<>();
            spec.severities().forEach(s -> severities.add(s.label()));
            expected.put(spec.id(), severities);
        }
        return expected;
    }

    static List<JsonNode> rules(JsonNode groups) {
        List<JsonNode> rules = new ArrayList<>();
        groups.path("groups").forEach(g -> g.path("rules").forEach(rules::add));
        return rules;
    }

    @Test
    void promtoolAcceptsTheRulesAndTheirUnitTestsPass() throws Exception {
        Promtool.Result check = Promtool.run("check", "rules", RULES.toString());
        assertThat(check.exitCode()).as(check.output()).isZero();
        assertThat(check.output()).contains("SUCCESS: " + expectedAlerts() + " rules found");
        List<String> args = new ArrayList<>(List.of("test", "rules"));
        RULE_TESTS.forEach(p -> args.add(p.toString()));
        Promtool.Result test = Promtool.run(args.toArray(String[]::new));
        assertThat(test.exitCode()).as(test.output()).isZero();
        assertThat(test.output()).contains("SUCCESS");
    }

    @Test
    void everyCheckAndSeverityHasAnAlertOnPgvigilBreach() throws Exception {
        List<JsonNode> rules = rules(YAML.readTree(RULES.toFile()));
        Set<String> expected = new TreeSet<>();
        severitiesByCheck().forEach((check, severities) -> severities.forEach(severity ->
                expected.add("pgvigil_breach{check=\"" + check + "\",severity=\"" + severity + "\"} == 1")));
        Set<String> breachExprs = new TreeSet<>();
        for (JsonNode rule : rules) {
            String expr = rule.path("expr").asText();
            if (expr.startsWith("pgvigil_breach")) {
                breachExprs.add(expr);
                String severity = expr.replaceAll(".*severity=\"(\\w+)\".*", "$1");
                assertThat(rule.path("labels").path("severity").asText()).as(rule.path("alert").asText())
                        .isEqualTo(severity);
            }
        }
        assertThat(breachExprs).isEqualTo(expected);
        assertThat(rules).extracting(r -> r.path("alert").asText()).contains("PgvigilTargetDown", "PgvigilPollStale",
                "PgvigilCollectorFailing", "PgvigilDatabaseVisitFailing");
        JsonNode down = rules.stream().filter(r -> r.path("alert").asText().equals("PgvigilTargetDown")).findFirst()
                .orElseThrow();
        assertThat(down.path("expr").asText()).isEqualTo("pg_up == 0");
        assertThat(down.path("for").asText()).isEqualTo("1m");
    }

    @Test
    void everyAlertHasSeveritySummaryDescriptionAndARunbookThatExists() throws Exception {
        Set<String> names = new HashSet<>();
        for (JsonNode rule : rules(YAML.readTree(RULES.toFile()))) {
            String name = rule.path("alert").asText();
            assertThat(names.add(name)).as("unique alert name " + name).isTrue();
            assertThat(rule.path("labels").path("severity").asText()).as(name).isIn("info", "warning", "critical");
            JsonNode annotations = rule.path("annotations");
            assertThat(annotations.path("summary").asText()).as(name).isNotBlank();
            assertThat(annotations.path("description").asText()).as(name).contains("{{ $labels.instance }}");
            if (rule.path("expr").asText().startsWith("pgvigil_breach")) {
                assertThat(annotations.path("description").asText()).as(name)
                        .contains("{{ $labels.subject }}", "pgvigil_check_value");
            }
            String runbook = annotations.path("runbook_url").asText();
            assertThat(runbook).as(name).startsWith(RUNBOOK_BASE + "docs/runbooks/");
            Path page = Path.of(runbook.substring(RUNBOOK_BASE.length()));
            assertThat(page).as(name + " runbook").exists();
            assertThat(Files.readString(page)).as(page.toString()).contains("**What it means.**", "**Confirm it.**",
                    "**Fix it.**");
        }
    }

    @Test
    void everyAlertHasAFiringAndANotFiringUnitTest() throws Exception {
        Map<String, boolean[]> seen = new LinkedHashMap<>();
        rules(YAML.readTree(RULES.toFile())).forEach(r -> seen.put(r.path("alert").asText(), new boolean[2]));
        for (Path file : RULE_TESTS) {
            for (JsonNode test : YAML.readTree(file.toFile()).path("tests")) {
                for (JsonNode t : test.path("alert_rule_test")) {
                    boolean[] cases = seen.get(t.path("alertname").asText());
                    assertThat(cases).as("a unit test for an unknown alert " + t.path("alertname").asText()).isNotNull();
                    cases[t.path("exp_alerts").isEmpty() ? 1 : 0] = true;
                }
            }
        }
        seen.forEach((alert, cases) -> {
            assertThat(cases[0]).as(alert + " has a firing case").isTrue();
            assertThat(cases[1]).as(alert + " has a not-firing case").isTrue();
        });
    }

    @Test
    void thePrometheusRuleCarriesExactlyTheRulesOfThePlainFile() throws Exception {
        JsonNode plain = YAML.readTree(RULES.toFile());
        JsonNode operator = YAML.readTree(PROMETHEUS_RULE.toFile());
        assertThat(operator.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(operator.path("kind").asText()).isEqualTo("PrometheusRule");
        assertThat(operator.path("metadata").path("name").asText()).isEqualTo("pgvigil");
        assertThat(operator.path("spec")).isEqualTo(plain);
    }
}
