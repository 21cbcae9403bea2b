package io.pgvigil.service;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.containsString;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
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
 * The running service over HTTP, watching a real PostgreSQL: /metrics, /api/v1/findings,
 * /api/v1/status and health. {@link PackagedServiceIT} runs the same tests against the packaged jar.
 */
@QuarkusTest
@WithTestResource(PgTestResource.class)
public class ServiceTest {

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
        for (String accept : List.of("*/*", "text/plain", "text/html,application/xhtml+xml,*/*;q=0.8")) {
            given().accept(accept).get("/metrics").then().statusCode(200)
                    .contentType(containsString("text/plain; version=0.0.4")).body(containsString("\npg_up 1.0\n"));
        }
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
        assertThat(status.getString("poll.lastSuccessAt")).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
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
            JsonPath findings = given().get("/api/v1/findings").then().statusCode(200).extract().jsonPath();
            assertThat(findings.getList("check")).containsExactly("pool_saturation");
            assertThat(findings.getString("[0].severity")).isEqualTo("warning");
            assertThat(findings.getString("[0].subject")).isEqualTo("server");
            assertThat(findings.getDouble("[0].value")).isEqualTo(15.0 / 17);
            assertThat(findings.getDouble("[0].threshold")).isEqualTo(0.8);
            assertThat(findings.getString("[0].message")).startsWith("15 client connections use 88% of the 17 usable slots");
            assertThat(findings.getString("[0].since")).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
            assertThat(metrics()).contains("pg_connections{datname=\"burst\",state=\"idle\"} 14.0\n");
            everyExportedMetricIsDocumented();
        } finally {
            for (Connection c : clients) {
                c.close();
            }
        }
        PgServer.await("the finding clears", () -> !metrics().contains("pgvigil_breach{"));
        given().get("/api/v1/findings").then().statusCode(200).body("$", hasSize(0));
    }

    /**
     * docs/metrics.md lists exactly the pg_ and pgvigil_ metrics that a scrape shows. Called while a
     * finding is open, so that every conditional family (pgvigil_breach, the interval ratios) is present.
     */
    void everyExportedMetricIsDocumented() {
        // Per-statement series exist only for statements that ran in the last interval, slot series
        // only while there is a slot.
        // The index hit ratio needs index block accesses between two visits of a database.
        pg.execute("SELECT pg_create_physical_replication_slot('documented', true)",
                "CREATE TABLE documented_items (id int PRIMARY KEY)", "INSERT INTO documented_items VALUES (1)");
        try {
            PgServer.await("statement, slot and index series", () -> {
                runSomeStatements();
                pg.execute("SET enable_seqscan = off", "SELECT * FROM documented_items WHERE id = 1");
                String metrics = metrics();
                return metrics.contains("pg_stat_statements_mean_exec_seconds{")
                        && metrics.contains("pg_replication_slot_safe_wal_size_bytes{")
                        && metrics.contains("pg_database_index_hit_ratio{");
            });
            compareWithDocs();
        } finally {
            pg.execute("SELECT pg_drop_replication_slot('documented')", "DROP TABLE documented_items");
        }
    }

    private void compareWithDocs() {
        Set<String> expected = new TreeSet<>(MetricsDoc.documented());
        expected.removeAll(MetricsDoc.NEED_A_STANDBY);
        assertThat(MetricsDoc.exported(metrics())).as("exported metrics").isEqualTo(expected);
    }

    @Test
    void statementsApiServesTheLastIntervalAndRejectsBadParameters() {
        awaitMetrics("pg_up 1.0");
        PgServer.await("statements in the API", () -> {
            runSomeStatements();
            return given().get("/api/v1/statements?order=calls&limit=5").then().statusCode(200).extract()
                    .jsonPath().getList("$").size() > 0;
        });
        JsonPath statements = given().get("/api/v1/statements?order=calls&limit=5").then().statusCode(200)
                .extract().jsonPath();
        assertThat(statements.getList("$")).hasSizeLessThanOrEqualTo(5);
        assertThat(statements.getList("calls", Double.class)).isSortedAccordingTo(java.util.Comparator.reverseOrder());
        assertThat(statements.getMap("[0]")).containsKeys("queryid", "datname", "user", "toplevel", "query", "calls",
                "totalTimeSeconds", "meanTimeSeconds", "rowsPerCall", "hitRatio", "tempBytes");
        assertThat(statements.getList("user")).doesNotContain(PgServer.MONITOR_ROLE);

        given().get("/api/v1/statements?order=drop table").then().statusCode(400)
                .body("error", equalTo("order='drop table' is not one of total_time, mean_time, calls, rows, temp"));
        given().get("/api/v1/statements?limit=-1").then().statusCode(400)
                .body("error", equalTo("limit='-1' must be a whole number from 1 to 1000"));
        given().get("/api/v1/statements?limit=ten").then().statusCode(400)
                .body("error", containsString("limit='ten'"));
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
            awaitMetrics("pg_database_index_findings{check=\"duplicate_index\",datname=\"api_idx\"} 1.0");
            JsonPath indexes = given().get("/api/v1/indexes?database=api_idx").then().statusCode(200).extract().jsonPath();
            assertThat(indexes.getList("name")).containsExactly("orders_pkey", "orders_user", "orders_user_status");
            assertThat(indexes.getList("[1].columns")).containsExactly("user_id");
            assertThat(indexes.getString("[1].findings[0].check")).isEqualTo("duplicate_index");
            assertThat(indexes.getString("[1].findings[0].severity")).isEqualTo("info");
            assertThat(indexes.getString("[1].findings[0].message")).contains("orders_user_status (user_id, status) covers");
            assertThat(indexes.getList("[0].findings")).isEmpty();
            assertThat(indexes.getBoolean("[0].primary")).isTrue();
            assertThat(given().get("/api/v1/indexes?findings=true").then().statusCode(200).extract().jsonPath()
                    .getList("name")).containsExactly("orders_user");
            JsonPath tables = given().get("/api/v1/tables?database=api_idx").then().statusCode(200).extract().jsonPath();
            assertThat(tables.getList("name")).containsExactly("orders");
            assertThat(tables.getString("[0].schema")).isEqualTo("public");
            assertThat(tables.getMap("[0]")).containsKeys("liveRows", "seqScans", "idxScans", "sizeBytes", "writes",
                    "intervalSeconds", "visitedAt", "findings");
            JsonPath status = given().get("/api/v1/status").then().statusCode(200).extract().jsonPath();
            assertThat(status.getBoolean("databases.find { it.datname == 'api_idx' }.success")).isTrue();
            assertThat(status.getInt("databases.find { it.datname == 'api_idx' }.indexes")).isEqualTo(3);

            given().get("/api/v1/indexes?limit=0").then().statusCode(400)
                    .body("error", equalTo("limit='0' must be a whole number from 1 to 100000"));
            given().get("/api/v1/tables?findings=maybe").then().statusCode(400)
                    .body("error", equalTo("findings='maybe' must be true or false"));
        } finally {
            pg.execute("DROP DATABASE IF EXISTS api_idx WITH (FORCE)");
        }
        PgServer.await("the dropped database's findings and series go", () -> {
            String metrics = metrics();
            return !metrics.contains("subject=\"api_idx.") && !metrics.contains("pg_database_indexes{datname=\"api_idx\"}");
        });
    }

    @Test
    void healthIsUpAndReadinessDoesNotDependOnTheDatabase() {
        given().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", everyItem(not(containsString("datasource"))));
    }

    @Test
    void unknownPathIs404() {
        given().get("/api/v1/nothing-here").then().statusCode(404);
    }

    static String metrics() {
        return given().get("/metrics").then().statusCode(200).extract().asString();
    }

    static void awaitMetrics(String line) {
        PgServer.await("/metrics shows " + line, () -> metrics().contains(line + "\n"));
    }
}
