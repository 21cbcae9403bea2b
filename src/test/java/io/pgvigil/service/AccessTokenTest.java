package io.pgvigil.service;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * Bearer tokens over real HTTP: {@code pgvigil.api.token} guards /api/*, {@code pgvigil.metrics.token-file}
 * guards /metrics, health stays open; a missing or wrong token gets 401 with {@code WWW-Authenticate:
 * Bearer} and one problem body that does not say what was wrong; a rotated token file takes effect
 * without a restart. (The target is unreachable: none of this needs it.)
 */
@QuarkusTest
@TestProfile(AccessTokenTest.Tokens.class)
class AccessTokenTest {

    static final String API_TOKEN = "api-token-0123456789abcdef";
    static final Path METRICS_TOKEN_FILE = tokenFile("metrics-token-0123456789abcdef");

    public static class Tokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("pgvigil.target.url", "jdbc:postgresql://localhost:1/postgres",
                    "pgvigil.api.token", API_TOKEN,
                    "pgvigil.metrics.token-file", METRICS_TOKEN_FILE.toString());
        }
    }

    /**
     * A fixed path: the profile and the test class are loaded by different class loaders, so a
     * temporary file made in a static initializer would be two different files.
     */
    static Path tokenFile(String token) {
        try {
            Path file = Path.of("target", "access-token-test-metrics-token");
            Files.writeString(file, token + "\n");
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The one body of every 401: the same whatever was wrong, so that it tells a prober nothing. */
    static final String UNAUTHORIZED = "{\"type\":\"about:blank\",\"title\":\"Unauthorized\",\"status\":401,"
            + "\"detail\":\"this endpoint requires a bearer token: Authorization: Bearer <token>\"}";

    static void assertUnauthorized(Response r) {
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.header("WWW-Authenticate")).isEqualTo("Bearer");
        assertThat(r.contentType()).isEqualTo("application/problem+json");
        assertThat(r.asString()).isEqualTo(UNAUTHORIZED);
    }

    @Test
    void theApiWantsItsToken() {
        assertUnauthorized(given().get("/api/v1/status"));
        assertUnauthorized(given().header("Authorization", "Bearer wrong-token-0123456789abcdef").get("/api/v1/findings"));
        assertUnauthorized(given().header("Authorization", API_TOKEN).get("/api/v1/findings"));
        assertUnauthorized(given().header("Authorization", "Basic " + API_TOKEN).get("/api/v1/findings"));
        // Unknown paths under /api too: without the token nothing says which paths exist.
        assertUnauthorized(given().get("/api/v1/nothing-here"));
        given().header("Authorization", "Bearer " + API_TOKEN).get("/api/v1/status").then().statusCode(200)
                .body("target.up", equalTo(false));
        // The metrics token does not open the API, nor the API token the metrics.
        assertUnauthorized(given().header("Authorization", "Bearer metrics-token-0123456789abcdef").get("/api/v1/status"));
        assertUnauthorized(given().header("Authorization", "Bearer " + API_TOKEN).get("/metrics"));
        // With the token, the API's own problems: here the target is down.
        given().header("Authorization", "Bearer " + API_TOKEN).get("/api/v1/findings").then().statusCode(503)
                .contentType("application/problem+json");
    }

    @Test
    void metricsWantTheirTokenFromTheFileAndFollowItsRotation() throws Exception {
        assertUnauthorized(given().get("/metrics"));
        given().header("Authorization", "Bearer metrics-token-0123456789abcdef").get("/metrics").then()
                .statusCode(200);
        Files.writeString(METRICS_TOKEN_FILE, "rotated-token-0123456789abcdef\n");
        Files.setLastModifiedTime(METRICS_TOKEN_FILE, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        given().header("Authorization", "Bearer metrics-token-0123456789abcdef").get("/metrics").then()
                .statusCode(401);
        String body = given().header("Authorization", "Bearer rotated-token-0123456789abcdef").get("/metrics").then()
                .statusCode(200).extract().asString();
        assertThat(body).contains("system_cpu_count");
        // pg_up appears once the first poll (the target is down here) has been published.
        io.pgvigil.testing.PgServer.await("the first poll's pg_up", () -> given()
                .header("Authorization", "Bearer rotated-token-0123456789abcdef").get("/metrics").asString()
                .contains("pg_up 0.0"));
    }

    @Test
    void healthNeedsNoToken() {
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);
    }
}
