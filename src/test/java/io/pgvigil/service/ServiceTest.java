package io.pgvigil.service;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.containsString;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.pgvigil.core.Catalog;
import io.pgvigil.testing.MetricsDoc;
import io.pgvigil.testing.TestConfig;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.PgTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.config.JsonConfig;
import io.restassured.path.json.JsonPath;
import io.restassured.path.json.config.JsonPathConfig;

/**
 * The running service over HTTP, watching a real PostgreSQL: /metrics, every /api/v1 endpoint in its
 * envelope with docs/api.md's names, their problems (400, 404, 503 with the pg_stat_statements
 * collector failed or off), the OpenAPI document and health. {@link PackagedServiceIT} runs the same
 * tests against the packaged jar.
 */
@QuarkusTest
@WithTestResource(PgTestResource.class)
public class ServiceTest {

    /** An instant as the API writes it: ISO-8601, UTC. */
    static final String ISO_UTC = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z";

    PgServer pg;

    @BeforeAll
    static void doublesAsDoubles() {
        RestAssured.config = RestAssured.config().jsonConfig(JsonConfig.jsonConfig()
                .numberReturnType(JsonPathConfig.NumberReturnType.DOUBLE));
    }

    @Test
    void metricsEndpointServesTargetAndSelfMetrics() {
        awaitMetrics("pg_up 1.0");
        String metrics = metrics();
        assertThat(metrics).contains("pg_in_recovery 0.0\n", "pg_settings_max_connections 20.0\n",
                "pgvigil_collector_success{collector=\"pg_stat_activity\"} 1.0\n",
                "pgvigil_collector_enabled{collector=\"pg_stat_database\"} 1.0\n",
                "pgvigil_check_threshold{check=\"rollback_rate\",severity=\"critical\"} 0.25\n",
                "pg_connections{datname=\"postgres\",state=\"active\"} 1.0\n");
        // Prometheus names OpenMetrics in its Accept header and gets it; curl (*/*), a browser and a
        // text/plain client get the classic format that promtool check metrics parses.
        given().accept("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1").get("/metrics").then().statusCode(200)
                .contentType(containsString("application/openmetrics-text"));
        given().accept("application/openmetrics-text").get("/metrics").then().statusCode(200)
                .contentType(containsString("application/openmetrics-text")).body(containsString("\npg_up 1.0\n"));
        for (String accept : List.of("*/*", "text/plain", "text/html,application/xhtml+xml,*/*;q=0.8")) {
            given().accept(accept).get("/metrics").then().statusCode(200)
                    .contentType(containsString("text/plain; version=0.0.4")).body(containsString("\npg_up 1.0\n"));
        }
    }

    @Test
    void thePageIsServedAtTheRootFromTheJarWithItsSecurityHeaders() {
        String csp = io.pgvigil.page.PageHeaders.CSP;
        given().get("/").then().statusCode(200).contentType(containsString("text/html"))
                .header("Content-Security-Policy", csp).header("X-Content-Type-Options", "nosniff")
                .header("Cache-Control", "no-cache")
                .body(containsString("<script type=\"module\" src=\"/page/app.js\"></script>"),
                        not(containsString("<script>")), not(containsString("http://")), not(containsString("https://")));
        given().get("/page/app.js").then().statusCode(200).contentType(containsString("javascript"))
                .header("Content-Security-Policy", csp).header("Cache-Control", "no-cache")
                .body(not(containsString("innerHTML")));
        given().get("/page/app.css").then().statusCode(200).contentType(containsString("text/css"))
                .body(not(containsString("@import")), not(containsString("url(")));
        given().get("/page/runbooks/slow_query.md").then().statusCode(200).body(containsString("**What it means.**"));
    }

    @Test
    void thePagesEndpointsAnswerActivityHistoryAndAConfigurationWithoutSecrets() {
        awaitMetrics("pg_up 1.0");
        JsonPath activity = given().get("/api/v1/activity").then().statusCode(200).extract().jsonPath();
        assertThat(activity.getInt("connections.usableSlots")).isEqualTo(17);
        assertThat(activity.getInt("connections.maxConnections")).isEqualTo(20);
        assertThat(activity.getList("lockChains")).isEmpty();
        assertThat(activity.getList("poolers")).isEmpty();
        assertThat(activity.getString("asOf")).matches(ISO_UTC);
        JsonPath history = given().get("/api/v1/history").then().statusCode(200).extract().jsonPath();
        assertThat(history.getInt("capacity")).isEqualTo(720);
        assertThat(history.getList("points")).isNotEmpty();
        assertThat(history.getList("points.up")).contains(true);
        JsonPath hour = given().get("/api/v1/statements/hour?limit=5").then().statusCode(200).extract().jsonPath();
        assertThat(hour.getString("asOf")).matches(ISO_UTC);
        assertThat(hour.getList("items")).hasSizeLessThanOrEqualTo(5);
        assertThat(hour.getInt("otherStatements")).isZero();
        given().get("/api/v1/statements/hour?order=often").then().statusCode(400);
        var config = given().get("/api/v1/config").then().statusCode(200).extract();
        assertThat(config.jsonPath().getDouble("intervalSeconds")).isEqualTo(1.0);
        assertThat(config.jsonPath().getBoolean("apiToken")).isFalse();
        assertThat(config.jsonPath().getDouble("thresholds.slow_query.warning")).isEqualTo(0.1);
        assertThat(config.jsonPath().getString("units.unused_index")).isEqualTo("seconds");
        assertThat(config.jsonPath().getString("units.duplicate_index")).isEqualTo("bytes");
        assertThat(config.jsonPath().getMap("units")).hasSize(Catalog.CHECKS.size());
        assertThat(config.asString()).doesNotContain(PgServer.MONITOR_PASSWORD, "password");
    }

    @Test
    void statusReportsVersionRoleAndEveryCollector() {
        awaitMetrics("pg_up 1.0");
        JsonPath status = given().get("/api/v1/status").then().statusCode(200).extract().jsonPath();
        assertThat(status.getBoolean("target.up")).isTrue();
        assertThat(status.getInt("target.versionNum") / 10000).isEqualTo(PgServer.defaultMajor());
        assertThat(status.getString("target.role")).isEqualTo("primary");
        assertThat(status.getString("target.url")).isEqualTo(pg.jdbcUrl("postgres"));
        assertThat(status.getDouble("poll.intervalSeconds")).isEqualTo(1.0);
        assertThat(status.getList("collectors.collector")).containsExactlyElementsOf(Catalog
                .collectors(TestConfig.of(java.util.Map.of())).stream().map(c -> c.key()).sorted().toList());
        // On a primary the WAL receiver collector is off (and says why); every other one succeeds.
        assertThat(status.getList("collectors.findAll { it.enabled }.success", Boolean.class)).containsOnly(true);
        assertThat(status.getString("collectors.find { it.collector == 'pg_stat_wal_receiver' }.reason"))
                .isEqualTo("the server is a primary; it has no WAL receiver");
        assertThat(status.getString("poll.lastSuccessAt")).matches(ISO_UTC);
        assertThat(status.getString("poll.lastStartedAt")).matches(ISO_UTC);
        assertThat(status.getDouble("poll.lastDurationSeconds")).isPositive();
        assertThat(status.getMap("$")).containsOnlyKeys("target", "poll", "collectors", "databases", "findingsOpen",
                "findingsSuppressed");
        assertThat(status.getMap("target")).containsOnlyKeys("url", "up", "version", "versionNum", "role", "error");
        assertThat(status.getMap("poll")).containsOnlyKeys("intervalSeconds", "lastStartedAt", "lastDurationSeconds",
                "lastSuccessAt", "total", "failed");
        assertThat(status.getMap("collectors[0]")).containsOnlyKeys("collector", "enabled", "reason", "success",
                "durationSeconds", "error");
        Map<String, Object> postgres = status.getMap("databases.find { it.database == 'postgres' }");
        assertThat(postgres).containsOnlyKeys("database", "visitedAt", "success", "durationSeconds", "indexes",
                "tables", "error");
        assertThat(postgres.get("success")).isEqualTo(true);
        assertThat((String) postgres.get("visitedAt")).matches(ISO_UTC);
    }

    @Test
    void connectionBurstIsAFindingInTheApiAndTheMetrics() throws Exception {
        pg.recreateDatabase("burst");
        awaitMetrics("pg_up 1.0");
        List<Connection> clients = new ArrayList<>();
        try {
            // pgvigil + 14 clients = 15 of 17 usable slots: 0.88, a warning.
            for (int i = 0; i < 14; i++) {
                clients.add(pg.connect("burst", "burst-client"));
            }
            // A poll may land while the clients are still connecting: wait for the one that sees all 15.
            awaitMetrics("pgvigil_check_value{check=\"pool_saturation\",subject=\"server\"} " + (15.0 / 17));
            awaitMetrics("pgvigil_breach{check=\"pool_saturation\",severity=\"warning\",subject=\"server\"} 1.0");
            JsonPath findings = given().get("/api/v1/findings").then().statusCode(200)
                    .contentType("application/json").extract().jsonPath();
            assertThat(findings.getMap("$")).containsOnlyKeys("items", "total", "truncated", "asOf", "notEvaluated");
            assertThat(findings.getList("items.check")).containsExactly("pool_saturation");
            assertThat(findings.getInt("total")).isEqualTo(1);
            assertThat(findings.getBoolean("truncated")).isFalse();
            assertThat(findings.getString("asOf")).matches(ISO_UTC);
            assertThat(findings.getList("notEvaluated")).isEmpty();
            assertThat(findings.getMap("items[0]")).containsOnlyKeys("check", "severity", "subject", "value",
                    "threshold", "message", "since", "advice");
            assertThat(findings.getString("items[0].advice")).as("pool_saturation proposes no SQL").isNull();
            assertThat(findings.getString("items[0].severity")).isEqualTo("warning");
            assertThat(findings.getString("items[0].subject")).isEqualTo("server");
            assertThat(findings.getDouble("items[0].value")).isEqualTo(15.0 / 17);
            assertThat(findings.getDouble("items[0].threshold")).isEqualTo(0.8);
            assertThat(findings.getString("items[0].message")).startsWith("15 client connections use 88% of the 17 usable slots");
            assertThat(findings.getString("items[0].since")).matches(ISO_UTC);
            assertThat(metrics()).contains("pg_connections{datname=\"burst\",state=\"idle\"} 14.0\n");
            everyExportedMetricIsDocumented();
        } finally {
            for (Connection c : clients) {
                c.close();
            }
        }
        PgServer.await("the finding clears", () -> !metrics().contains("pgvigil_breach{"));
        // Nothing wrong: 200 with an empty list, which is never what "no data" looks like (that is a 503).
        JsonPath healthy = given().get("/api/v1/findings").then().statusCode(200).extract().jsonPath();
        assertThat(healthy.getList("items")).isEmpty();
        assertThat(healthy.getInt("total")).isZero();
        assertThat(healthy.getBoolean("truncated")).isFalse();
    }

    /**
     * docs/metrics.md lists exactly the pg_ and pgvigil_ metrics that a scrape shows. Called while a
     * finding is open, so that every conditional family (pgvigil_breach, the interval ratios) is present.
     */
    void everyExportedMetricIsDocumented() {
        // Per-statement series exist only for statements that ran in the last interval, slot series
        // only while there is a slot.
        // The index block counters need a visit of the database.
        // pg_active_connections only while a session other than pgvigil's is active.
        pg.execute("SELECT pg_create_physical_replication_slot('documented', true)",
                "CREATE TABLE documented_items (id int PRIMARY KEY)", "INSERT INTO documented_items VALUES (1)");
        Thread sleeper = new Thread(() -> {
            try (Connection c = pg.connect("postgres", "documented-sleeper")) {
                c.createStatement().execute("SET statement_timeout = '60s'");
                c.createStatement().execute("SELECT pg_sleep(60)");
            } catch (java.sql.SQLException cancelled) {
                // ended below, once the scrape has been compared
            }
        });
        sleeper.start();
        try {
            PgServer.await("statement, slot, index and active-session series", () -> {
                runSomeStatements();
                pg.execute("SET enable_seqscan = off", "SELECT * FROM documented_items WHERE id = 1");
                String metrics = metrics();
                return metrics.contains("pg_stat_statements_calls_total{")
                        && metrics.contains("pg_replication_slot_safe_wal_size_bytes{")
                        && metrics.contains("pgvigil_index_blocks_hit_total{")
                        && metrics.contains("pg_active_connections{");
            });
            compareWithDocs();
        } finally {
            pg.execute("SELECT pg_drop_replication_slot('documented')", "DROP TABLE documented_items",
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'documented-sleeper'");
            try {
                sleeper.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void compareWithDocs() {
        Set<String> expected = new TreeSet<>(MetricsDoc.documented());
        expected.removeAll(MetricsDoc.NEED_A_STANDBY);
        expected.removeAll(MetricsDoc.NOT_ON_A_DEFAULT_PRIMARY);
        expected.removeAll(MetricsDoc.NEED_A_PGBOUNCER);
        assertThat(MetricsDoc.exported(metrics())).as("exported metrics").isEqualTo(expected);
    }

    @Test
    void statementsApiServesTheLastIntervalAndRejectsBadParameters() {
        awaitMetrics("pg_up 1.0");
        // Enough distinct statements in one interval that limit=2 leaves some out.
        PgServer.await("statements in the API", () -> {
            runSomeStatements();
            pg.execute("SELECT count(*) FROM pg_namespace", "SELECT count(*) FROM pg_proc", "SELECT count(*) FROM pg_type");
            var r = given().get("/api/v1/statements?order=calls&limit=2");
            return r.statusCode() == 200 && r.jsonPath().getInt("total") > 2;
        });
        JsonPath statements = given().get("/api/v1/statements?order=calls&limit=2").then().statusCode(200)
                .extract().jsonPath();
        assertThat(statements.getMap("$")).containsOnlyKeys("items", "total", "truncated", "asOf", "intervalSeconds",
                "held");
        assertThat(statements.getList("items")).hasSize(2);
        assertThat(statements.getBoolean("truncated")).isTrue();
        assertThat(statements.getString("asOf")).matches(ISO_UTC);
        assertThat(statements.getDouble("intervalSeconds")).isBetween(0.5, 10.0);
        assertThat(statements.getInt("held")).isNotNegative();
        assertThat(statements.getList("items.calls", Double.class)).isSortedAccordingTo(java.util.Comparator.reverseOrder());
        assertThat(statements.getMap("items[0]")).containsOnlyKeys("queryId", "database", "user", "topLevel", "query",
                "calls", "totalExecSeconds", "meanExecSeconds", "rows", "rowsPerCall", "hitRatio", "tempBytes");
        int total = statements.getInt("total");
        JsonPath all = given().get("/api/v1/statements?order=calls&limit=1000").then().statusCode(200).extract().jsonPath();
        assertThat(all.getBoolean("truncated")).isFalse();
        assertThat(all.getList("items")).hasSize(all.getInt("total"));
        assertThat(all.getList("items.user")).doesNotContain(PgServer.MONITOR_ROLE);
        assertThat(total).isPositive();

        assertBadParameter("/api/v1/statements?order=drop table", "order", "drop table",
                "order='drop table' is not one of total_time, mean_time, calls, rows, temp");
        assertBadParameter("/api/v1/statements?limit=-1", "limit", "-1", "limit='-1' must be a whole number from 1 to 1000");
        assertBadParameter("/api/v1/statements?limit=ten", "limit", "ten", "limit='ten' must be a whole number from 1 to 1000");

        // One statement: its entries (plans are off by default, so none), a 400 for a queryid that is no number, a 404
        // for one pg_stat_statements does not know.
        String queryId = all.getString("items[0].queryId");
        JsonPath one = given().get("/api/v1/statements/" + queryId).then().statusCode(200).extract().jsonPath();
        assertThat(one.getMap("$")).containsOnlyKeys("queryId", "asOf", "entries", "plansEnabled", "plansProblem", "plans",
                "planFailures");
        assertThat(one.getString("queryId")).isEqualTo(queryId);
        assertThat(one.getList("entries")).isNotEmpty();
        assertThat(one.getBoolean("plansEnabled")).isFalse();
        assertThat(one.getList("plans")).isEmpty();
        assertBadParameter("/api/v1/statements/abc", "queryid", "abc",
                "queryid='abc' must be a pg_stat_statements queryid (a 64-bit whole number)");
        var missing = given().get("/api/v1/statements/1");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.contentType()).isEqualTo("application/problem+json");
        assertThat(missing.jsonPath().getString("detail")).isEqualTo("pg_stat_statements has no statement with queryid 1"
                + " (it may have been evicted or reset), and pgvigil has no plan of it");
    }

    /** A 400 problem naming the parameter and its value. */
    static void assertBadParameter(String path, String parameter, String value, String detail) {
        var r = given().get(path);
        assertThat(r.statusCode()).as(path).isEqualTo(400);
        assertThat(r.contentType()).as(path).isEqualTo("application/problem+json");
        assertThat(r.jsonPath().getMap("$")).as(path).isEqualTo(Map.of("type", "urn:pgvigil:problem:bad-parameter",
                "title", "Bad parameter", "status", 400, "detail", detail, "parameter", parameter, "value", value));
    }

    @Test
    void statementsAre503WhilePgStatStatementsFailsOrIsOffAndFindingsSayWhichChecksWentUnjudged() {
        awaitMetrics("pg_up 1.0");
        try {
            // pg_monitor reads pg_stat_statements through PUBLIC's EXECUTE: without it the collector fails.
            pg.execute("REVOKE EXECUTE ON FUNCTION pg_stat_statements(boolean) FROM PUBLIC");
            JsonPath failed = awaitProblem("/api/v1/statements", "collector-failed");
            assertThat(failed.getString("collector")).isEqualTo("pg_stat_statements");
            assertThat(failed.getString("error")).contains("permission denied for function pg_stat_statements");
            assertThat(failed.getString("detail")).isEqualTo("the pg_stat_statements collector failed in the latest "
                    + "poll (pgvigil retries every 1s): " + failed.getString("error"));
            // The other lists still answer; findings say which checks could not judge.
            JsonPath findings = given().get("/api/v1/findings").then().statusCode(200).extract().jsonPath();
            assertThat(findings.getList("notEvaluated")).containsExactly("n_plus_one", "query_regression",
                    "slow_query", "temp_spill");
            pg.execute("GRANT EXECUTE ON FUNCTION pg_stat_statements(boolean) TO PUBLIC",
                    "DROP EXTENSION pg_stat_statements");
            JsonPath off = awaitProblem("/api/v1/statements", "collector-off");
            assertThat(off.getMap("$")).isEqualTo(Map.of("type", "urn:pgvigil:problem:no-data", "title", "No data",
                    "status", 503, "reason", "collector-off", "collector", "pg_stat_statements",
                    "detail", "the pg_stat_statements collector is off: extension pg_stat_statements is not installed "
                            + "in the connected database"));
        } finally {
            pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
                    "GRANT EXECUTE ON FUNCTION pg_stat_statements(boolean) TO PUBLIC");
        }
        PgServer.await("statements answer again", () -> given().get("/api/v1/statements").statusCode() == 200);
        assertThat(given().get("/api/v1/findings").jsonPath().getList("notEvaluated")).isEmpty();
    }

    /** Waits for a 503 with {@code reason} at {@code path} and returns it. */
    static JsonPath awaitProblem(String path, String reason) {
        PgServer.await(path + " answers 503 " + reason, () -> {
            var r = given().get(path);
            return r.statusCode() == 503 && reason.equals(r.jsonPath().getString("reason"));
        });
        var r = given().get(path);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        return r.jsonPath();
    }

    /** A client's statements, so that the next interval has pg_stat_statements activity. */
    void runSomeStatements() {
        try (Connection c = pg.connect("postgres", "statement-client");
                java.sql.PreparedStatement st = c.prepareStatement("SELECT count(*) FROM pg_class WHERE relpages >= ?")) {
            for (int i = 0; i < 3; i++) {
                st.setInt(1, i);
                st.executeQuery().close();
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void indexesAndTablesApiListEveryRelationWithTheFindingsItIsPartOf() throws Exception {
        pg.recreateDatabase("api_idx");
        try {
            try (Connection c = pg.connect("api_idx"); java.sql.Statement st = c.createStatement()) {
                st.execute("CREATE TABLE orders (id int PRIMARY KEY, user_id int, status text)");
                st.execute("CREATE INDEX orders_user ON orders (user_id)");
                st.execute("CREATE INDEX orders_user_status ON orders (user_id, status)");
            }
            PgServer.await("a visit of api_idx with its duplicate_index finding", () -> {
                var r = given().get("/api/v1/indexes?database=api_idx&findings=true");
                return r.statusCode() == 200 && r.jsonPath().getList("items.name").equals(List.of("orders_user"));
            });
            JsonPath indexes = given().get("/api/v1/indexes?database=api_idx").then().statusCode(200).extract().jsonPath();
            assertThat(indexes.getMap("$")).containsOnlyKeys("items", "total", "truncated", "asOf", "databases");
            assertThat(indexes.getList("items.name")).containsExactly("orders_pkey", "orders_user", "orders_user_status");
            assertThat(indexes.getInt("total")).isEqualTo(3);
            assertThat(indexes.getBoolean("truncated")).isFalse();
            assertThat(indexes.getList("databases.database")).containsExactly("api_idx");
            assertThat(indexes.getBoolean("databases[0].fresh")).isTrue();
            assertThat(indexes.getString("databases[0].error")).isNull();
            assertThat(indexes.getString("asOf")).matches(ISO_UTC).isEqualTo(indexes.getString("databases[0].visitedAt"))
                    .isEqualTo(indexes.getString("items[0].visitedAt"));
            assertThat(indexes.getMap("items[1]")).containsOnlyKeys("database", "schema", "table", "name", "method",
                    "columns", "expressions", "predicate", "unique", "primary", "exclusion", "backsConstraint", "valid",
                    "sizeBytes", "scans", "tuplesRead", "tuplesFetched", "blocksHit", "blocksRead", "lastScanAt",
                    "idleStartedAt", "visitedAt", "findings");
            assertThat(indexes.getString("items[1].database")).isEqualTo("api_idx");
            assertThat(indexes.getList("items[1].columns")).containsExactly("user_id");
            assertThat(indexes.getString("items[1].findings[0].check")).isEqualTo("duplicate_index");
            assertThat(indexes.getString("items[1].findings[0].severity")).isEqualTo("info");
            assertThat(indexes.getString("items[1].findings[0].message")).contains("orders_user_status (user_id, status) covers");
            assertThat(indexes.getList("items[0].findings")).isEmpty();
            assertThat(indexes.getBoolean("items[0].primary")).isTrue();
            JsonPath cut = given().get("/api/v1/indexes?database=api_idx&limit=2").then().statusCode(200).extract().jsonPath();
            assertThat(cut.getList("items.name")).containsExactly("orders_pkey", "orders_user");
            assertThat(cut.getInt("total")).isEqualTo(3);
            assertThat(cut.getBoolean("truncated")).isTrue();
            assertThat(given().get("/api/v1/indexes?findings=true").then().statusCode(200).extract().jsonPath()
                    .getList("items.name")).containsExactly("orders_user");
            JsonPath tables = given().get("/api/v1/tables?database=api_idx").then().statusCode(200).extract().jsonPath();
            assertThat(tables.getMap("$")).containsOnlyKeys("items", "total", "truncated", "asOf", "databases");
            assertThat(tables.getList("items.name")).containsExactly("orders");
            assertThat(tables.getString("items[0].schema")).isEqualTo("public");
            assertThat(tables.getMap("items[0]")).containsOnlyKeys("database", "schema", "name", "sizeBytes", "liveRows",
                    "seqScans", "seqRowsRead", "indexScans", "writes", "lastSeqScanAt", "deadRows", "lastVacuumAt",
                    "lastAutovacuumAt", "xidAge", "mxidAge", "intervalSeconds", "intervalSeqScans",
                    "intervalSeqRowsRead", "intervalIndexScans", "visitedAt", "findings");
            JsonPath status = given().get("/api/v1/status").then().statusCode(200).extract().jsonPath();
            assertThat(status.getBoolean("databases.find { it.database == 'api_idx' }.success")).isTrue();
            assertThat(status.getInt("databases.find { it.database == 'api_idx' }.indexes")).isEqualTo(3);

            assertBadParameter("/api/v1/indexes?limit=0", "limit", "0", "limit='0' must be a whole number from 1 to 100000");
            assertBadParameter("/api/v1/tables?findings=maybe", "findings", "maybe", "findings='maybe' must be true or false");
            assertBadParameter("/api/v1/tables?database=no_such_db", "database", "no_such_db", "database='no_such_db' "
                    + "is not a database pgvigil visits (/api/v1/status lists them under databases)");
        } finally {
            pg.execute("DROP DATABASE IF EXISTS api_idx WITH (FORCE)");
        }
        PgServer.await("the dropped database's findings and series go", () -> {
            String metrics = metrics();
            return !metrics.contains("subject=\"api_idx.") && !metrics.contains("pgvigil_database_indexes{datname=\"api_idx\"}");
        });
        // A dropped database is forgotten by the next visit round: asking for it is then a bad parameter.
        PgServer.await("api_idx leaves the API", () -> given().get("/api/v1/indexes?database=api_idx").statusCode() == 400);
        assertThat(given().get("/api/v1/status").jsonPath().getList("databases.database")).doesNotContain("api_idx");
    }

    @Test
    void healthIsUpAndReadinessDoesNotDependOnTheDatabase() {
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", everyItem(not(containsString("datasource"))));
    }

    @Test
    void unknownPathIs404() {
        var r = given().get("/api/v1/nothing-here");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.jsonPath().getString("detail")).isEqualTo("there is no endpoint at /api/v1/nothing-here "
                + "(the API is described at /q/openapi and in docs/api.md)");
    }

    /** Every endpoint of the resources, as "GET /api/v1/..." with its query parameters. */
    static final Map<String, List<String>> ENDPOINTS = Map.of(
            "/api/v1/findings", List.of(),
            "/api/v1/status", List.of(),
            "/api/v1/statements", List.of("order", "limit"),
            "/api/v1/statements/hour", List.of("order", "limit"),
            "/api/v1/statements/{queryid}", List.of("queryid"),
            "/api/v1/indexes", List.of("database", "findings", "limit"),
            "/api/v1/tables", List.of("database", "findings", "limit"),
            "/api/v1/activity", List.of(),
            "/api/v1/history", List.of(),
            "/api/v1/config", List.of());

    /** The lists (and the page's activity), which answer 503 when there is no data. */
    static final Set<String> LISTS = Set.of("/api/v1/activity", "/api/v1/findings", "/api/v1/statements", "/api/v1/indexes",
            "/api/v1/tables");

    @Test
    void openApiDocumentDescribesEveryEndpointItsParametersAndProblems() throws Exception {
        var r = given().get("/q/openapi");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.contentType()).isEqualTo("application/json");
        JsonPath doc = r.jsonPath();
        assertThat(doc.getString("openapi")).startsWith("3.");
        Map<String, Object> paths = doc.getMap("paths");
        assertThat(paths.keySet()).as("every path of the API and nothing else").containsExactlyInAnyOrderElementsOf(
                ENDPOINTS.keySet());
        String apiDoc = java.nio.file.Files.readString(java.nio.file.Path.of("docs/api.md"));
        for (var endpoint : ENDPOINTS.entrySet()) {
            String path = endpoint.getKey();
            String get = "paths.'" + path + "'.get";
            assertThat(doc.getMap(get)).as(path).containsKeys("summary", "description", "tags", "responses");
            List<String> parameters = doc.getList(get + ".parameters.name");
            assertThat(parameters == null ? List.of() : parameters).as(path + " parameters")
                    .containsExactlyInAnyOrderElementsOf(endpoint.getValue());
            for (String parameter : endpoint.getValue()) {
                assertThat(doc.getString(get + ".parameters.find { it.name == '" + parameter + "' }.description"))
                        .as(path + " " + parameter).isNotBlank();
            }
            Set<String> codes = new TreeSet<>(doc.<String, Object>getMap(get + ".responses").keySet());
            Set<String> expected = new TreeSet<>(Set.of("200", "401", "500"));
            if (!endpoint.getValue().isEmpty()) {
                expected.add("400");
            }
            if (LISTS.contains(path) || path.endsWith("{queryid}")) {
                expected.add("503");
            }
            if (path.endsWith("{queryid}")) {
                expected.add("404");
            }
            assertThat(codes).as(path + " responses").isEqualTo(expected);
            String schema = doc.getString(get + ".responses.'200'.content.'application/json'.schema.$ref");
            assertThat(schema).as(path + " answer").startsWith("#/components/schemas/");
            for (String code : codes) {
                if (code.equals("200")) {
                    continue;
                }
                String ref = doc.getString(get + ".responses.'" + code + "'.$ref");
                assertThat(ref).as(path + " " + code).startsWith("#/components/responses/");
                String name = ref.substring(ref.lastIndexOf('/') + 1);
                assertThat(doc.getString("components.responses." + name + ".content.'application/problem+json'.schema.$ref"))
                        .as(path + " " + code).isEqualTo("#/components/schemas/Problem");
            }
            assertThat(apiDoc).as("docs/api.md documents " + path).contains("## GET " + path.replace("{queryid}", "{queryId}"));
        }
        assertThat(doc.getMap("components.schemas.Problem.properties")).containsOnlyKeys("type", "title", "status",
                "detail", "parameter", "value", "reason", "collector", "error", "lastSuccessAt");
        assertThat(doc.getList("components.schemas.Problem.properties.reason.enum")).containsExactly("no-poll-yet",
                "target-down", "no-interval-yet", "collector-off", "collector-failed");
        assertThat(doc.getMap("components.schemas.Finding.properties")).containsOnlyKeys("check", "severity", "subject",
                "value", "threshold", "message", "since", "advice");
        assertThat(doc.getList("components.schemas.Finding.properties.severity.enum")).containsExactly("info", "warning",
                "critical");
    }

    /**
     * /metrics as curl gets it: the classic text format, whose label sets end in a comma
     * ({@code {a="b",}}); the comma is dropped so that lines compare equal to the OpenMetrics ones
     * the assertions are written in (as {@code PackagedApp.metrics()} does).
     */
    static String metrics() {
        return given().get("/metrics").then().statusCode(200).extract().asString().replace(",} ", "} ");
    }

    static void awaitMetrics(String line) {
        PgServer.await("/metrics shows " + line, () -> metrics().contains(line + "\n"));
    }
}
