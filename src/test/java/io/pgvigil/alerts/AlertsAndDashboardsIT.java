package io.pgvigil.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PgBouncerServer;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.Promtool;

/**
 * The proof for alerts/ and dashboards/: the packaged pgvigil watches a primary and its standby (two
 * instances), a real Prometheus server (Debian's package) scrapes both every second with
 * alerts/pgvigil-rules.yml loaded (their {@code for} cut to 5 s), and a workload breaches several checks. Every PromQL expression
 * of every dashboard panel must be accepted and return data (template variables substituted; for
 * {@code $instance} either pgvigil instance counts, since the standby panels need the one watching
 * the standby), every alert rule must evaluate without error on metrics that exist, the alerts of
 * the induced breaches must reach {@code firing}, and {@code PgvigilTargetDown} must fire once the
 * primary is stopped.
 */
class AlertsAndDashboardsIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void prometheusRunsEveryPanelAndRuleAndFiresTheInducedAlerts() throws Exception {
        Path prometheusBinary = Promtool.require("prometheus");
        Path work = Files.createTempDirectory("pgvigil-prometheus");
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> workload = new ArrayList<>();
        List<Connection> held = new ArrayList<>();
        try (PgServer primary = PgServer.start(PgServer.defaultMajor(), Map.of("wal_receiver_status_interval", "1s",
                "max_slot_wal_keep_size", "1GB"));
                PgServer standby = primary.startStandby("standby_e2e")) {
            prepare(primary);
            // A PgBouncer in front of the primary (pool of 2, no query_wait_timeout), watched by the primary's
            // pgvigil, for the Pooler row and pooler_saturation.
            PgBouncerServer pgbouncer = PgBouncerServer.start(primary, "transaction", 2, "query_wait_timeout = 0");
            Map<String, String> onPrimaryConfig = new LinkedHashMap<>(Map.of(
                    "pgvigil.interval", "2s", "pgvigil.indexes.interval", "2s",
                    "pgvigil.checks.long-transaction.warning", "3s", "pgvigil.checks.long-transaction.critical", "1h",
                    "pgvigil.checks.slow-query.warning", "50ms",
                    "pgvigil.checks.rollback-rate.min-transactions", "5",
                    "pgvigil.checks.replication-slot.warning", "1M"));
            onPrimaryConfig.putAll(Map.of("pgvigil.pgbouncer.url", pgbouncer.url(), "pgvigil.pgbouncer.name", "e2e",
                    "pgvigil.pgbouncer.username", PgBouncerServer.STATS_USER,
                    "pgvigil.pgbouncer.password", PgBouncerServer.STATS_PASSWORD));
            try (pgbouncer; PackagedApp onPrimary = PackagedApp.start(pgvigil(primary, onPrimaryConfig));
                    PackagedApp onStandby = PackagedApp.start(pgvigil(standby, Map.of("pgvigil.interval", "2s")))) {
                String a = "localhost:" + onPrimary.port();
                String b = "localhost:" + onStandby.port();
                held.add(idleInTransaction(primary));
                // Both server connections of the pool held by open transactions, and a third client queued behind them.
                held.add(throughPgBouncerInTransaction(pgbouncer));
                held.add(throughPgBouncerInTransaction(pgbouncer));
                workload.add(new Thread(() -> queueBehind(pgbouncer, stop)));
                workload.add(loop(stop, () -> businessAsUsual(primary)));
                workload.add(loop(stop, () -> rollbackStorm(primary)));
                workload.forEach(Thread::start);

                int port = freePort();
                // The shipped rules with every `for` cut to 5 s: promtool's cases prove the durations; here
                // Prometheus proves that each rule evaluates on real metrics and that induced breaches fire,
                // without waiting a minute per alert.
                Path rules = work.resolve("pgvigil-rules.yml");
                Files.writeString(rules, Files.readString(AlertRulesTest.RULES).replaceAll("(?m)^(\\s+)for: \\w+$", "$1for: 5s"));
                Path config = work.resolve("prometheus.yml");
                Files.writeString(config, """
                        global:
                          scrape_interval: 1s
                          evaluation_interval: 1s
                        rule_files:
                          - %s
                        scrape_configs:
                          - job_name: pgvigil
                            static_configs:
                              - targets: ['%s', '%s']
                        """.formatted(rules.toAbsolutePath(), a, b));
                Process prometheus = new ProcessBuilder(prometheusBinary.toString(), "--config.file=" + config,
                        "--storage.tsdb.path=" + work.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                        .redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
                try {
                    String api = "http://127.0.0.1:" + port;
                    PgServer.await("Prometheus is ready", () -> status(api + "/-/ready") == 200);
                    PgServer.await("both pgvigil instances are up in Prometheus",
                            () -> query(api, "sum(up{job=\"pgvigil\"})").path(0).path("value").path(1).asText().equals("2"));

                    everyPanelReturnsData(api, List.of(a, b));
                    everyRuleEvaluatesOnMetricsThatExist(api);

                    Set<String> induced = Set.of("PgvigilRollbackRateCritical", "PgvigilSlowQueryWarning",
                            "PgvigilLongTransactionWarning", "PgvigilReplicationSlotWarning", "PgvigilPoolerSaturationCritical");
                    awaitFiring(api, induced, Duration.ofSeconds(150));

                    stop.set(true);
                    closeAll(held); // first: the client queued in PgBouncer gets a server connection and ends
                    for (Thread t : workload) {
                        t.join(10_000);
                    }
                    primary.stop();
                    awaitFiring(api, Set.of("PgvigilTargetDown"), Duration.ofSeconds(150));
                    JsonNode down = alerts(api).stream().filter(x -> x.path("labels").path("alertname").asText()
                            .equals("PgvigilTargetDown")).findFirst().orElseThrow();
                    assertThat(down.path("labels").path("instance").asText()).isEqualTo(a);
                    assertThat(down.path("annotations").path("runbook_url").asText()).endsWith("docs/runbooks/target-down.md");
                } finally {
                    prometheus.destroy();
                    prometheus.waitFor();
                }
            }
        } finally {
            stop.set(true);
            closeAll(held);
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Every panel's expression, with $instance set to each pgvigil in turn, returns data for at least one. */
    private static void everyPanelReturnsData(String api, List<String> instances) throws IOException {
        Map<String, String> pending = new LinkedHashMap<>();
        for (Path file : DashboardsTest.dashboards()) {
            JsonNode dashboard = JSON.readTree(file.toFile());
            for (JsonNode panel : dashboard.path("panels")) {
                for (JsonNode target : panel.path("targets")) {
                    pending.put(file.getFileName() + " / " + panel.path("title").asText() + " / " + target.path("refId").asText(),
                            target.path("expr").asText());
                }
            }
        }
        assertThat(pending).hasSizeGreaterThan(40);
        // Some series need time: rates need two samples, the index hit ratio two visits with index reads.
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            pending.entrySet().removeIf(e -> instances.stream().anyMatch(instance -> {
                String expr = e.getValue().replace("$instance", instance).replace("$datname", ".*")
                        .replace("$__rate_interval", "30s");
                return query(api, expr).size() > 0;
            }));
            sleep(2000);
        }
        assertThat(pending).as("panels whose query returned no data from either pgvigil").isEmpty();
    }

    /** Prometheus evaluated every rule without error, and each metric an alert reads exists. */
    private static void everyRuleEvaluatesOnMetricsThatExist(String api) throws IOException {
        PgServer.await("every rule evaluated once", () -> {
            List<JsonNode> rules = rules(api);
            return rules.size() == AlertRulesTest.expectedAlerts() && rules.stream().allMatch(r -> !r.path("lastEvaluation").asText().startsWith("0001"));
        });
        for (JsonNode rule : rules(api)) {
            assertThat(rule.path("health").asText()).as(rule.path("name").asText() + ": " + rule.path("lastError").asText())
                    .isEqualTo("ok");
        }
        Set<String> metrics = new TreeSet<>();
        AlertRulesTest.rules(AlertRulesTest.YAML.readTree(AlertRulesTest.RULES.toFile()))
                .forEach(r -> metrics.addAll(DashboardsTest.metrics(r.path("expr").asText())));
        for (String metric : metrics) {
            assertThat(query(api, "count(" + metric + ")").size()).as(metric + " exists in Prometheus").isPositive();
        }
    }

    private static void awaitFiring(String api, Set<String> names, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> firing = new TreeSet<>();
        while (System.nanoTime() < deadline) {
            firing.clear();
            alerts(api).stream().filter(x -> x.path("state").asText().equals("firing"))
                    .forEach(x -> firing.add(x.path("labels").path("alertname").asText()));
            if (firing.containsAll(names)) {
                return;
            }
            sleep(2000);
        }
        assertThat(firing).as("alerts firing after " + timeout).containsAll(names);
    }

    private static Map<String, String> pgvigil(PgServer pg, Map<String, String> extra) {
        Map<String, String> props = new LinkedHashMap<>(Map.of("pgvigil.target.url", pg.jdbcUrl("postgres"),
                "pgvigil.target.username", PgServer.MONITOR_ROLE, "pgvigil.target.password", PgServer.MONITOR_PASSWORD));
        props.putAll(extra);
        return props;
    }

    /** A duplicate and an invalid index, an indexed table to read, an inactive slot holding WAL. */
    private static void prepare(PgServer primary) throws SQLException {
        primary.execute("CREATE DATABASE shop", "CREATE DATABASE payments", "CHECKPOINT",
                "SELECT pg_create_physical_replication_slot('forgotten', true)");
        try (Connection c = primary.connect("shop"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id serial PRIMARY KEY, customer int, status text, code int)");
            st.execute("INSERT INTO orders (customer, status, code) SELECT g % 50, 'new', g % 7 FROM generate_series(1, 5000) g");
            st.execute("CREATE INDEX orders_customer ON orders (customer)");
            st.execute("CREATE INDEX orders_customer_status ON orders (customer, status)");
            try {
                st.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_code ON orders (code)");
            } catch (SQLException expected) {
                // duplicate codes: an invalid index stays behind
            }
            st.execute("CREATE TABLE filler AS SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
        }
        // The rollback storm has a database of its own, so that shop's steady commits do not dilute it.
        try (Connection c = primary.connect("payments"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE payments (id serial PRIMARY KEY, amount int CHECK (amount > 0))");
        }
    }

    private static Connection throughPgBouncerInTransaction(PgBouncerServer pgbouncer) throws SQLException {
        Connection c = pgbouncer.connectApp();
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
        return c;
    }

    /** A client that waits in PgBouncer's queue until the test ends (its connection is closed under it then). */
    private static void queueBehind(PgBouncerServer pgbouncer, AtomicBoolean stop) {
        try (Connection c = pgbouncer.connectApp(); Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        } catch (SQLException e) {
            if (!stop.get()) {
                throw new IllegalStateException("the queued client failed before the end of the test", e);
            }
        }
    }

    private static Connection idleInTransaction(PgServer primary) throws SQLException {
        Connection c = primary.connect("shop", "e2e-idle");
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
            st.execute("SELECT count(*) FROM orders");
        }
        return c;
    }

    /** A slow report, index lookups, and writes (so that WAL reaches the standby). */
    private static void businessAsUsual(PgServer primary) throws SQLException {
        try (Connection c = primary.connect("shop", "e2e-app"); Statement st = c.createStatement()) {
            st.execute("SELECT count(*), pg_sleep(0.1) FROM orders");
            for (int i = 0; i < 20; i++) {
                st.execute("SELECT * FROM orders WHERE id = " + (1 + (i * 97) % 5000));
            }
            st.execute("INSERT INTO orders (customer, status, code) VALUES (1, 'new', 1)");
        }
        sleep(200);
    }

    /** Twenty payments, half refused by their CHECK constraint and rolled back. */
    private static void rollbackStorm(PgServer primary) throws SQLException {
        try (Connection c = primary.connect("payments", "e2e-payments")) {
            c.setAutoCommit(false);
            for (int i = 0; i < 20; i++) {
                try (Statement st = c.createStatement()) {
                    st.execute("INSERT INTO payments (amount) VALUES (" + (i % 2 == 0 ? 10 : -10) + ")");
                    c.commit();
                } catch (SQLException refused) {
                    c.rollback();
                }
            }
        }
        sleep(200);
    }

    interface Step {
        void run() throws Exception;
    }

    private static Thread loop(AtomicBoolean stop, Step step) {
        Thread t = new Thread(() -> {
            while (!stop.get()) {
                try {
                    step.run();
                } catch (Exception e) {
                    sleep(500);
                }
            }
        }, "e2e-workload");
        t.setDaemon(true);
        return t;
    }

    private static List<JsonNode> rules(String api) {
        List<JsonNode> rules = new ArrayList<>();
        get(api + "/api/v1/rules").path("data").path("groups").forEach(g -> g.path("rules").forEach(rules::add));
        return rules;
    }

    private static List<JsonNode> alerts(String api) {
        List<JsonNode> alerts = new ArrayList<>();
        get(api + "/api/v1/alerts").path("data").path("alerts").forEach(alerts::add);
        return alerts;
    }

    /** An instant query's result; fails the test when Prometheus rejects the expression. */
    private static JsonNode query(String api, String expr) {
        JsonNode answer = get(api + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        assertThat(answer.path("status").asText()).as(expr + " -> " + answer).isEqualTo("success");
        return answer.path("data").path("result");
    }

    private static JsonNode get(String url) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static int status(String url) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void closeAll(List<Connection> connections) {
        for (Connection c : connections) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the server may be gone already
            }
        }
        connections.clear();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
