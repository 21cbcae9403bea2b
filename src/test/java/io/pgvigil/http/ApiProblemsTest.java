package io.pgvigil.http;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.pgvigil.testing.PgServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/**
 * The REST API's problems over real HTTP, against a target that accepts connections and never
 * answers (a hung server): until the first poll gives up (the 10 s login timeout) every list answers
 * 503 {@code no-poll-yet}; after it, 503 {@code target-down} with the error. Also 404 under /api,
 * 405, and a 500 whose body says nothing of the exception, logged once with it.
 */
@QuarkusTest
@TestProfile(ApiProblemsTest.HungTarget.class)
@WithTestResource(ApiProblemsTest.SilentServer.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiProblemsTest {

    static final List<String> LISTS = List.of("/api/v1/findings", "/api/v1/statements", "/api/v1/indexes",
            "/api/v1/tables");

    /** A listening socket that never accepts: connections complete in the kernel's backlog and hear nothing. */
    public static class SilentServer implements QuarkusTestResourceLifecycleManager {
        private ServerSocket socket;

        @Override
        public Map<String, String> start() {
            try {
                socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("pgvigil.target.url", "jdbc:postgresql://127.0.0.1:" + socket.getLocalPort() + "/postgres");
        }

        @Override
        public void stop() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // the JVM ends next
            }
        }
    }

    public static class HungTarget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("pgvigil.interval", "1s", "pgvigil.target.connect-timeout", "10s",
                    "pgvigil.target.username", "pgvigil", "pgvigil.target.password", "unused-password");
        }
    }

    /** A resource of the tests only: the one way to make the service throw something unexpected on purpose. */
    @Path("/api/v1/test-only/broken")
    public static class Broken {
        @GET
        public String get() {
            throw new IllegalStateException("the exception's own words: do-not-show-7f3a");
        }
    }

    @Test
    @Order(1)
    void beforeTheFirstPollEveryListIs503NoPollYet() {
        for (String path : LISTS) {
            Response r = given().get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(503);
            assertThat(r.contentType()).as(path).isEqualTo("application/problem+json");
            assertThat(r.header("Retry-After")).as(path).isEqualTo("1");
            assertThat(r.jsonPath().getMap("$")).as(path).isEqualTo(Map.of(
                    "type", "urn:pgvigil:problem:no-data", "title", "No data", "status", 503,
                    "detail", "pgvigil has not finished its first poll of the target yet (it polls every 1s)",
                    "reason", "no-poll-yet"));
        }
        // Status is pgvigil's own state: always there, and it says no poll has finished.
        JsonPath status = given().get("/api/v1/status").then().statusCode(200).extract().jsonPath();
        assertThat(status.getBoolean("target.up")).isFalse();
        assertThat(status.getString("poll.lastStartedAt")).isNull();
        assertThat(status.getString("poll.lastSuccessAt")).isNull();
        assertThat(status.getList("databases")).isEmpty();
    }

    @Test
    @Order(2)
    void unknownPathsUnderApiAre404Problems() {
        for (String path : List.of("/api/v1/nothing-here", "/api/v2/findings", "/api", "/api/")) {
            Response r = given().get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
            assertThat(r.contentType()).as(path).isEqualTo("application/problem+json");
            assertThat(r.jsonPath().getMap("$")).as(path).isEqualTo(Map.of("type", "about:blank", "title", "Not Found",
                    "status", 404, "detail", "there is no endpoint at " + path
                            + " (the API is described at /q/openapi and in docs/api.md)"));
        }
        // Outside /api the HTTP server's own 404 stays.
        assertThat(given().get("/nothing-here").statusCode()).isEqualTo(404);
    }

    @Test
    @Order(3)
    void otherMethodsThanGetAre405Problems() {
        Response r = given().post("/api/v1/findings");
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.jsonPath().getString("title")).isEqualTo("Method Not Allowed");
        assertThat(r.jsonPath().getString("detail")).isEqualTo("POST is not allowed here: the API only answers GET");
        assertThat(r.header("Allow")).isEqualTo("GET, HEAD");
        assertThat(given().head("/api/v1/status").statusCode()).isEqualTo(200);
    }

    @Test
    @Order(4)
    void anUnexpectedExceptionIsAGeneric500LoggedOnceWithItsCause() {
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(ProblemMappers.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(capture);
        try {
            Response r = given().get("/api/v1/test-only/broken");
            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.contentType()).isEqualTo("application/problem+json");
            assertThat(r.jsonPath().getMap("$")).isEqualTo(Map.of("type", "about:blank",
                    "title", "Internal Server Error", "status", 500, "detail", "pgvigil could not answer this request "
                            + "because of an unexpected error; its log has the details"));
            assertThat(r.asString()).doesNotContain("do-not-show", "IllegalStateException");
        } finally {
            logger.removeHandler(capture);
        }
        assertThat(logged).hasSize(1);
        LogRecord record = logged.get(0);
        assertThat(record.getLevel().getName()).isEqualTo("ERROR");
        assertThat(((org.jboss.logmanager.ExtLogRecord) record).getFormattedMessage())
                .isEqualTo("GET /api/v1/test-only/broken failed with an unexpected error");
        assertThat(record.getThrown()).isInstanceOf(IllegalStateException.class)
                .hasMessage("the exception's own words: do-not-show-7f3a");
    }

    @Test
    @Order(5)
    void afterAFailedPollEveryListIs503TargetDownWithTheError() {
        PgServer.await("the first poll gives up", () -> given().get("/api/v1/status").jsonPath()
                .getString("poll.lastStartedAt") != null);
        for (String path : LISTS) {
            Response r = given().get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(503);
            assertThat(r.contentType()).as(path).isEqualTo("application/problem+json");
            JsonPath problem = r.jsonPath();
            assertThat(problem.getString("type")).isEqualTo("urn:pgvigil:problem:no-data");
            assertThat(problem.getString("reason")).as(path).isEqualTo("target-down");
            assertThat(problem.getString("error")).as(path).contains("timed out");
            assertThat(problem.getString("lastSuccessAt")).as(path).isNull();
            assertThat(problem.getString("detail")).as(path).startsWith("the target cannot be reached: no poll has "
                    + "reached it since pgvigil started; pgvigil retries every 1s. Last error: ")
                    .endsWith(problem.getString("error"));
            assertThat(problem.getMap("$")).as(path).containsOnlyKeys("type", "title", "status", "detail", "reason",
                    "error");
        }
    }

    @Test
    @Order(6)
    void badParametersAreCheckedBeforeTheDataIsLookedFor() {
        Response r = given().get("/api/v1/statements?limit=0");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.jsonPath().getMap("$")).isEqualTo(Map.of("type", "urn:pgvigil:problem:bad-parameter",
                "title", "Bad parameter", "status", 400, "detail", "limit='0' must be a whole number from 1 to 1000",
                "parameter", "limit", "value", "0"));
    }
}
