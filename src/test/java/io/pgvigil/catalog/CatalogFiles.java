package io.pgvigil.catalog;

import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.pgvigil.core.Catalog;
import io.pgvigil.core.Check;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Severity;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.metrics.MetricsGroup;
import io.pgvigil.testing.TestConfig;
import io.smallrye.config.WithDefault;

/**
 * Everything derived from the {@link Catalog}: the alert rules and their two Kubernetes copies, the
 * standard promtool cases of every check alert, and the generated parts of docs/checks.md, the
 * README and docs/metrics.md (from every metrics group's declared families). {@code CatalogFilesTest} compares them with the committed files and rewrites them when run
 * with {@code -Dpgtest.regenerate=true}.
 */
public final class CatalogFiles {

    public static final Path RULES = Path.of("alerts/pgvigil-rules.yml");
    public static final Path PROMETHEUS_RULE = Path.of("alerts/kubernetes/pgvigil-prometheusrule.yaml");
    public static final Path DEPLOYED_PROMETHEUS_RULE = Path.of("deploy/k8s/monitoring/pgvigil-prometheusrule.yaml");
    public static final Path CHECK_TESTS = Path.of("alerts/tests/pgvigil-checks.test.yml");
    public static final Path CHECKS_DOC = Path.of("docs/checks.md");
    public static final Path README = Path.of("README.md");
    public static final Path METRICS_DOC = Path.of("docs/metrics.md");
    public static final String REGENERATE = "./mvnw test -Dtest=CatalogFilesTest -Dpgtest.regenerate=true";
    static final String RUNBOOK_BASE = "https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/";
    static final String INSTANCE = "db-0:9187";

    /** The alerts on pgvigil itself: not checks, so written here once; their tests are in alerts/tests/pgvigil-service.test.yml. */
    static final String SERVICE_RULES = """
            - alert: PgvigilTargetDown
              expr: pg_up == 0
              for: 1m
              labels:
                severity: critical
              annotations:
                summary: 'pgvigil cannot reach PostgreSQL ({{ $labels.instance }})'
                description: 'pg_up has been 0 for a minute on {{ $labels.instance }}: pgvigil''s polls cannot connect or query the target, and every check is withdrawn. /api/v1/status gives the error.'
                runbook_url: 'https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/target-down.md'
            - alert: PgvigilPollStale
              expr: time() - pgvigil_last_poll_timestamp_seconds > 3 * pgvigil_poll_interval_seconds
              for: 1m
              labels:
                severity: warning
              annotations:
                summary: 'pgvigil has had no successful poll for 3 intervals ({{ $labels.instance }})'
                description: 'The last successful poll of {{ $labels.instance }} was {{ $value | humanizeDuration }} ago: pgvigil''s numbers are stale.'
                runbook_url: 'https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/poll-stale.md'
            - alert: PgvigilCollectorFailing
              expr: pgvigil_collector_success{collector!~"pgbouncer:.*"} == 0
              for: 5m
              labels:
                severity: warning
              annotations:
                summary: 'pgvigil collector {{ $labels.collector }} keeps failing ({{ $labels.instance }})'
                description: 'Collector {{ $labels.collector }} on {{ $labels.instance }} has failed every poll for 5 minutes; the checks that need it are withdrawn. /api/v1/status gives the error.'
                runbook_url: 'https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/collector-failing.md'
            - alert: PgvigilDatabaseVisitFailing
              expr: pgvigil_database_visit_success == 0
              for: 15m
              labels:
                severity: warning
              annotations:
                summary: 'pgvigil cannot read index statistics of database {{ $labels.datname }} ({{ $labels.instance }})'
                description: 'Visits of database {{ $labels.datname }} on {{ $labels.instance }} have failed for 15 minutes; its index and table findings are held. /api/v1/status (databases) gives the reason.'
                runbook_url: 'https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/database-visit-failing.md'
            - alert: PgvigilPgBouncerDown
              expr: pgvigil_pgbouncer_up == 0
              for: 1m
              labels:
                severity: critical
              annotations:
                summary: 'pgvigil cannot read PgBouncer {{ $labels.pgbouncer }} ({{ $labels.instance }})'
                description: 'pgvigil_pgbouncer_up has been 0 for a minute for PgBouncer {{ $labels.pgbouncer }} on {{ $labels.instance }}: it is down, or its console refuses pgvigil''s login, and its open pooler_saturation findings are withdrawn after 3 polls. PostgreSQL is watched as usual. /api/v1/status (collector pgbouncer:{{ $labels.pgbouncer }}) gives the error.'
                runbook_url: 'https://github.com/pgvigil/pgvigil/blob/main/docs/runbooks/pgbouncer-down.md'
            """;

    private CatalogFiles() {
    }

    /** The checks as built with default configuration: their thresholds are the defaults. */
    static List<Check> defaults() {
        return Catalog.checks(TestConfig.of(Map.of()));
    }

    /** Every generated file, whole, by path. */
    public static Map<Path, String> wholeFiles() {
        Map<Path, String> files = new LinkedHashMap<>();
        String rules = rules();
        files.put(RULES, "# pgvigil's alert rules: one alert per check and severity, firing on pgvigil_breach (thresholds live\n"
                + "# in pgvigil's configuration), plus alerts on pgvigil itself. Generated from the check catalog\n"
                + "# (" + REGENERATE + "); tested by promtool (alerts/tests/)\n"
                + "# and against a real Prometheus scraping pgvigil (AlertsAndDashboardsIT).\n" + rules);
        String operator = prometheusRule(rules);
        files.put(PROMETHEUS_RULE, operator);
        files.put(DEPLOYED_PROMETHEUS_RULE, operator);
        files.put(CHECK_TESTS, checkTests());
        return files;
    }

    /** Generated sections of hand-written files: file → (section name → content). */
    public static Map<Path, Map<String, String>> sections() {
        Map<Path, Map<String, String>> sections = new LinkedHashMap<>();
        sections.put(CHECKS_DOC, Map.of("checks", checksTable()));
        sections.put(README, Map.of("check-config", checkConfigTable()));
        Map<String, String> metrics = new LinkedHashMap<>();
        for (MetricsGroup group : Catalog.metrics(TestConfig.of(Map.of()))) {
            for (MetricFamily family : group.families()) {
                metrics.merge("metrics-" + family.section(), metricRow(family), String::concat);
            }
        }
        metrics.replaceAll((section, rows) -> "| metric | type | labels | meaning |\n|---|---|---|---|\n" + rows);
        sections.put(METRICS_DOC, metrics);
        return sections;
    }

    // ---------------------------------------------------------------- rules

    static String rules() {
        StringBuilder sb = new StringBuilder("groups:\n- name: pgvigil\n  rules:\n");
        for (CheckSpec spec : Catalog.CHECKS) {
            for (Severity severity : spec.severities()) {
                sb.append(breachRule(spec, severity).indent(2));
            }
        }
        sb.append(SERVICE_RULES.indent(2));
        return sb.toString();
    }

    static String breachRule(CheckSpec spec, Severity severity) {
        String fn = spec.unit().template();
        String description = "pgvigil's " + spec.id() + " check is " + severity.label()
                + " for {{ $labels.subject }} on {{ $labels.instance }}: measured {{ with printf"
                + " \"pgvigil_check_value{check=%q,subject=%q,instance=%q}\" $labels.check $labels.subject"
                + " $labels.instance | query }}{{ . | first | value | " + fn + " }}{{ else }}n/a{{ end }} (threshold"
                + " {{ with printf \"pgvigil_check_threshold{check=%q,severity=%q,instance=%q}\" $labels.check"
                + " $labels.severity $labels.instance | query }}{{ . | first | value | " + fn
                + " }}{{ else }}none{{ end }}). GET /api/v1/findings on pgvigil gives the full message.";
        return "- alert: " + spec.alertName(severity) + "\n"
                + "  expr: " + quote("pgvigil_breach{check=\"" + spec.id() + "\",severity=\"" + severity.label() + "\"} == 1") + "\n"
                + "  for: " + duration(spec.alertFor()) + "\n"
                + "  labels:\n"
                + "    severity: " + severity.label() + "\n"
                + "  annotations:\n"
                + "    summary: " + quote(spec.summary() + " ({{ $labels.instance }})") + "\n"
                + "    description: " + quote(description) + "\n"
                + "    runbook_url: " + quote(RUNBOOK_BASE + spec.id() + ".md") + "\n";
    }

    static String prometheusRule(String rules) {
        return "# The rules of alerts/pgvigil-rules.yml as a prometheus-operator PrometheusRule. Generated from the\n"
                + "# check catalog (" + REGENERATE + ").\n"
                + "apiVersion: monitoring.coreos.com/v1\n"
                + "kind: PrometheusRule\n"
                + "metadata:\n"
                + "  name: pgvigil\n"
                + "  labels:\n"
                + "    app.kubernetes.io/name: pgvigil\n"
                + "    app.kubernetes.io/component: alerts\n"
                + "spec:\n" + rules.indent(2);
    }

    // ---------------------------------------------------------------- promtool cases

    /** A value and threshold in a unit, and how Prometheus' template renders them. */
    record Sample(double value, String rendered, double threshold, String renderedThreshold) {
    }

    static Sample sample(CheckSpec spec, Severity severity) {
        boolean critical = severity == Severity.CRITICAL;
        return switch (spec.unit()) {
            case RATIO -> spec.lowerIsWorse()
                    ? (critical ? new Sample(0.9, "90%", 0.95, "95%") : new Sample(0.97, "97%", 0.99, "99%"))
                    : (critical ? new Sample(0.95, "95%", 0.9, "90%") : new Sample(0.85, "85%", 0.8, "80%"));
            case SECONDS -> severity == Severity.INFO ? new Sample(864000, "10d 0h 0m 0s", 604800, "7d 0h 0m 0s")
                    : critical ? new Sample(400, "6m 40s", 300, "5m 0s") : new Sample(75, "1m 15s", 60, "1m 0s");
            case BYTES -> critical ? new Sample(2147483648.0, "2Gi", 1073741824, "1Gi")
                    : new Sample(20971520, "20Mi", 10485760, "10Mi");
            case FACTOR -> critical ? new Sample(12, "12.0 times its baseline", 10, "10.0 times its baseline")
                    : new Sample(4, "4.0 times its baseline", 3, "3.0 times its baseline");
            case PER_SECOND -> critical ? new Sample(80, "80.0 per second", 50, "50.0 per second")
                    : new Sample(2.5, "2.5 per second", 0.1, "0.1 per second");
            case TRANSACTIONS -> critical ? new Sample(250000000, "250M", 200000000, "200M")
                    : new Sample(60000000, "60M", 50000000, "50M");
            case TRIGGER_MULTIPLE -> critical ? new Sample(12, "12.0 times its autovacuum trigger", 10,
                    "10.0 times its autovacuum trigger")
                    : new Sample(3, "3.0 times its autovacuum trigger", 2, "2.0 times its autovacuum trigger");
        };
    }

    static String subjectSample(CheckSpec spec) {
        return switch (spec.subject()) {
            case SERVER -> "server";
            case SELF_OR_STANDBY -> "replica1";
            case DATABASE -> "shop";
            case SLOT -> "old_slot";
            case STATEMENT -> "4242";
            case INDEX -> "shop.public.orders_note";
            case TABLE -> "shop.public.orders";
            case POOL -> "pgbouncer/shop/app";
        };
    }

    static String checkTests() {
        Map<String, Check> checks = new LinkedHashMap<>();
        defaults().forEach(c -> checks.put(c.id(), c));
        StringBuilder sb = new StringBuilder();
        sb.append("# Generated from the check catalog (").append(REGENERATE).append(").\n");
        sb.append("# promtool test rules: every check alert firing (labels and rendered annotations) and not firing\n");
        sb.append("# (before its `for`, and the check's other severities). Run by AlertRulesTest in ./mvnw verify.\n");
        sb.append("rule_files:\n- ../pgvigil-rules.yml\nevaluation_interval: 1m\ntests:\n");
        for (CheckSpec spec : Catalog.CHECKS) {
            for (Severity severity : spec.severities()) {
                Check check = checks.get(spec.id());
                // A threshold read from the server is exported from the first poll on, as configured ones are.
                sb.append(checkTest(spec, severity,
                        check.thresholds().containsKey(severity) || check.serverThreshold(severity) != null));
            }
        }
        return sb.toString();
    }

    static String checkTest(CheckSpec spec, Severity severity, boolean hasThreshold) {
        String subject = subjectSample(spec);
        Sample s = sample(spec, severity);
        long forMinutes = spec.alertFor().toMinutes();
        long samples = forMinutes + 8;
        String labels = "instance=\"" + INSTANCE + "\",job=\"pgvigil\"";
        StringBuilder sb = new StringBuilder();
        sb.append("- name: ").append(spec.alertName(severity)).append("\n  interval: 1m\n  input_series:\n");
        sb.append("  - series: ").append(quote("pgvigil_breach{check=\"" + spec.id() + "\",severity=\"" + severity.label()
                + "\",subject=\"" + subject + "\"," + labels + "}")).append("\n    values: _ _ 1x").append(samples - 2).append('\n');
        sb.append("  - series: ").append(quote("pgvigil_check_value{check=\"" + spec.id() + "\",subject=\"" + subject + "\","
                + labels + "}")).append("\n    values: ").append(number(s.value())).append('x').append(samples).append('\n');
        if (hasThreshold) {
            sb.append("  - series: ").append(quote("pgvigil_check_threshold{check=\"" + spec.id() + "\",severity=\""
                    + severity.label() + "\"," + labels + "}")).append("\n    values: ").append(number(s.threshold()))
                    .append('x').append(samples).append('\n');
        }
        sb.append("  alert_rule_test:\n");
        // The breach starts at 2m: pending until 2m + for, firing from then on.
        sb.append(notFiring(spec.alertName(severity), 2 + forMinutes - 1));
        String description = "pgvigil's " + spec.id() + " check is " + severity.label() + " for " + subject + " on "
                + INSTANCE + ": measured " + s.rendered() + " (threshold " + (hasThreshold ? s.renderedThreshold() : "none")
                + "). GET /api/v1/findings on pgvigil gives the full message.";
        sb.append("  - eval_time: ").append(2 + forMinutes).append("m\n    alertname: ").append(spec.alertName(severity))
                .append("\n    exp_alerts:\n    - exp_labels:\n        severity: ").append(severity.label())
                .append("\n        check: ").append(spec.id())
                .append("\n        subject: ").append(quote(subject))
                .append("\n        instance: ").append(quote(INSTANCE))
                .append("\n        job: pgvigil\n      exp_annotations:\n        summary: ")
                .append(quote(spec.summary().replace("{{ $labels.subject }}", subject) + " (" + INSTANCE + ")"))
                .append("\n        description: ").append(quote(description))
                .append("\n        runbook_url: ").append(quote(RUNBOOK_BASE + spec.id() + ".md")).append('\n');
        for (Severity other : spec.severities()) {
            if (other != severity) {
                sb.append(notFiring(spec.alertName(other), 2 + forMinutes));
            }
        }
        return sb.toString();
    }

    private static String notFiring(String alert, long minute) {
        return "  - eval_time: " + minute + "m\n    alertname: " + alert + "\n    exp_alerts: []\n";
    }

    // ---------------------------------------------------------------- docs

    static String checksTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| check | subject | measures | unit | warning | critical | alert after |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Check check : defaults()) {
            CheckSpec spec = check.spec();
            sb.append("| [`").append(spec.id()).append("`](runbooks/").append(spec.id()).append(".md) | ")
                    .append(spec.subject().doc()).append(" | ").append(spec.measures()).append(" | ")
                    .append(spec.unit().label()).append(" | ").append(level(check, Severity.WARNING)).append(" | ")
                    .append(level(check, Severity.CRITICAL)).append(" | ").append(duration(spec.alertFor()))
                    .append(" |\n");
        }
        return sb.toString();
    }

    /** "0.80", "below 0.99", "info at 7 days", "warning" (no threshold), "—" (never). */
    private static String level(Check check, Severity column) {
        CheckSpec spec = check.spec();
        if (column == Severity.WARNING && spec.severities().equals(List.of(Severity.INFO))) {
            Double t = check.thresholds().get(Severity.INFO);
            return t == null ? "info" : "info at " + spec.unit().format(t);
        }
        if (!spec.severities().contains(column)) {
            return "—";
        }
        Double t = check.thresholds().get(column);
        if (t == null) {
            String setting = check.serverThreshold(column);
            return setting == null ? column.label() : "the server's `" + setting + "`";
        }
        return (spec.lowerIsWorse() ? "below " : "") + spec.unit().format(t);
    }

    static String checkConfigTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| key | default | meaning |\n|---|---|---|\n");
        Map<String, Method> byName = new LinkedHashMap<>();
        for (Method m : PgvigilConfig.Checks.class.getMethods()) {
            byName.put(kebab(m.getName()), m);
        }
        for (CheckSpec spec : Catalog.CHECKS) {
            Method group = byName.get(spec.configKey());
            if (group == null) {
                throw new IllegalStateException("PgvigilConfig.Checks has no " + spec.configKey() + "() for check " + spec.id());
            }
            List<String> keys = new ArrayList<>();
            List<String> defaults = new ArrayList<>();
            for (Method m : settings(group.getReturnType())) {
                keys.add("." + kebab(m.getName()));
                WithDefault d = m.getAnnotation(WithDefault.class);
                defaults.add(d != null ? d.value() : "(unset)");
            }
            String measures = spec.measures();
            sb.append("| `pgvigil.checks.").append(spec.configKey()).append(".enabled`");
            keys.subList(1, keys.size()).forEach(k -> sb.append(" / `").append(k).append('`'));
            sb.append(" | `").append(String.join("` / `", defaults)).append("` | ")
                    .append(Character.toUpperCase(measures.charAt(0))).append(measures.substring(1)).append(" (")
                    .append(spec.unit().label()).append("). |\n");
        }
        sb.append("| `pgvigil.checks.<check>.clear-margin` / `.clear-after` | `0.1` / `3` | For every check: a finding")
                .append(" clears (or steps down a severity) when its value is back inside the threshold by this share of")
                .append(" it, or after this many consecutive intervals back inside it ([checks.md](docs/checks.md)). |\n");
        return sb.toString();
    }

    /** A check's own keys: enabled, warning, critical first, then the rest by name; not the shared clearing keys. */
    static List<Method> settings(Class<?> group) {
        List<String> first = List.of("enabled", "warning", "critical");
        List<Method> methods = new ArrayList<>();
        for (Method m : group.getMethods()) {
            if (m.getParameterCount() == 0 && !m.isDefault() && !m.getName().startsWith("clear")) {
                methods.add(m);
            }
        }
        methods.sort((a, b) -> {
            int ia = first.indexOf(a.getName());
            int ib = first.indexOf(b.getName());
            if (ia >= 0 || ib >= 0) {
                return Integer.compare(ia < 0 ? 99 : ia, ib < 0 ? 99 : ib);
            }
            return a.getName().compareTo(b.getName());
        });
        return methods;
    }

    static String metricRow(MetricFamily family) {
        String labels = family.labels().isEmpty() ? " " : " `" + String.join("`, `", family.labels()) + "` ";
        return "| `" + family.exposedName() + "` | " + family.type().name().toLowerCase(Locale.ROOT) + " |" + labels
                + "| " + family.doc() + " |\n";
    }

    // ---------------------------------------------------------------- helpers

    /** A YAML single-quoted scalar. */
    static String quote(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    static String duration(java.time.Duration d) {
        return d.toHours() > 0 && d.toMinutesPart() == 0 ? d.toHours() + "h" : d.toMinutes() + "m";
    }

    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    static String kebab(String camel) {
        StringBuilder sb = new StringBuilder();
        for (char ch : camel.toCharArray()) {
            if (Character.isUpperCase(ch)) {
                sb.append('-').append(Character.toLowerCase(ch));
            } else {
                sb.append(ch);
            }
        }
        return sb.toString().toLowerCase(Locale.ROOT);
    }

}
