package io.pgvigil.http;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.pgvigil.testing.PgServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/**
 * A healthy server after exactly one poll (the interval is an hour; the first poll runs at start-up,
 * the scheduler's an interval later): findings answer 200 with an empty list, indexes and tables list the one visit, and
 * statements answer 503 {@code no-interval-yet}, since an interval needs two polls.
 */
@QuarkusTest
@WithTestResource(FirstPollTest.OnePollTarget.class)
class FirstPollTest {

    /** A fresh server with one table, polled once an hour. */
    public static class OnePollTarget implements QuarkusTestResourceLifecycleManager {
        private PgServer server;

        @Override
        public Map<String, String> start() {
            server = PgServer.start(PgServer.defaultMajor());
            server.execute("CREATE TABLE one_poll (id int PRIMARY KEY)");
            return Map.of("pgvigil.interval", "1h", "pgvigil.indexes.interval", "1h",
                    "pgvigil.target.url", server.jdbcUrl("postgres"),
                    "pgvigil.target.username", PgServer.MONITOR_ROLE,
                    "pgvigil.target.password", PgServer.MONITOR_PASSWORD);
        }

        @Override
        public void stop() {
            if (server != null) {
                server.close();
            }
        }
    }

    JsonPath status;

    @BeforeEach
    void awaitTheFirstPoll() {
        PgServer.await("the first poll", () -> given().get("/api/v1/status").jsonPath().getString("poll.lastSuccessAt")
                != null);
        status = given().get("/api/v1/status").then().statusCode(200).extract().jsonPath();
        assertThat(status.getLong("poll.total")).isEqualTo(1);
        assertThat(status.getLong("poll.failed")).isZero();
    }

    @Test
    void aHealthyServerHasAnEmptyFindingsListFromTheLatestPoll() {
        Response r = given().get("/api/v1/findings");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.contentType()).isEqualTo("application/json;charset=UTF-8");
        JsonPath findings = r.jsonPath();
        assertThat(findings.getMap("$")).isEqualTo(Map.of("items", List.of(), "total", 0, "truncated", false,
                "asOf", status.getString("poll.lastStartedAt"), "notEvaluated", List.of()));
    }

    @Test
    void statementsNeedASecondPoll() {
        Response r = given().get("/api/v1/statements");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.header("Retry-After")).isEqualTo("3600");
        assertThat(r.jsonPath().getMap("$")).isEqualTo(Map.of("type", "urn:pgvigil:problem:no-data",
                "title", "No data", "status", 503, "reason", "no-interval-yet",
                "detail", "statements are measured between two polls that reach the target, and the latest poll is "
                        + "the first since pgvigil started or the server restarted; the next poll (in 3600s) has them"));
    }

    @Test
    void indexesAndTablesComeFromTheFirstVisit() {
        String visitedAt = status.getString("databases.find { it.database == 'postgres' }.visitedAt");
        JsonPath indexes = given().get("/api/v1/indexes?database=postgres").then().statusCode(200).extract().jsonPath();
        assertThat(indexes.getList("items.name")).containsExactly("one_poll_pkey");
        assertThat(indexes.getInt("total")).isEqualTo(1);
        assertThat(indexes.getBoolean("truncated")).isFalse();
        assertThat(indexes.getString("asOf")).isEqualTo(visitedAt);
        assertThat(indexes.getList("databases")).hasSize(1);
        assertThat(indexes.getMap("databases[0]")).containsOnlyKeys("database", "visitedAt", "fresh", "error")
                .containsEntry("database", "postgres").containsEntry("visitedAt", visitedAt)
                .containsEntry("fresh", true).containsEntry("error", null);
        Map<String, Object> table = given().get("/api/v1/tables?database=postgres").then().statusCode(200).extract()
                .jsonPath().getMap("items.find { it.name == 'one_poll' }");
        assertThat(table).containsEntry("database", "postgres").containsEntry("schema", "public")
                .containsEntry("liveRows", 0).containsEntry("indexScans", 0)
                .containsEntry("visitedAt", visitedAt).containsEntry("findings", List.of());
        // One visit: nothing between two visits yet.
        assertThat(table).containsEntry("intervalSeconds", null).containsEntry("intervalSeqScans", null)
                .containsEntry("intervalSeqRowsRead", null).containsEntry("intervalIndexScans", null);
    }
}
