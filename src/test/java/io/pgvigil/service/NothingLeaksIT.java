package io.pgvigil.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.testing.PackagedApp;
import io.pgvigil.testing.PgServer;

/**
 * Everything the packaged service produced while watching a server with hostile names and statements
 * that carry secrets — its whole log, every API answer (200, 400, 401, 404 and their problem bodies),
 * /metrics, health and the OpenAPI document — is
 * searched for the password (the right one and a wrong one it was given first), both bearer tokens
 * and every string literal of the workload. Every JSON answer must parse strictly and give the hostile
 * names back unchanged.
 */
class NothingLeaksIT {

    static final String API_TOKEN = "api-token-4f9c2e7b1d";
    static final String METRICS_TOKEN = "metrics-token-8a3d5f0c6e";
    static final String WRONG_PASSWORD = "wrong-password-5x7y";
    static final String APP_PASSWORD = "app-role-secret-3k";
    /** Literals the workload puts in statements; pg_stat_statements keeps utility statements verbatim. */
    static final List<String> LITERALS = List.of("literal-secret-alter-1", "literal-secret-dollar-2",
            "literal-secret-escape-3", "literal-secret-select-4");
    static final String DATABASE = "leak \"test\" \\ db\nnext line";
    static final String ROLE = "app \"role\" \\ x";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @Test
    void noSecretInLogsMetricsApiOrErrorsAndJsonStaysValid() throws Exception {
        Path passwordFile = Files.createTempFile("pgvigil-password", "");
        Files.writeString(passwordFile, WRONG_PASSWORD + "\n");
        try (PgServer pg = PgServer.start(PgServer.defaultMajor())) {
            pg.execute("CREATE DATABASE " + quote(DATABASE),
                    "CREATE ROLE " + quote(ROLE) + " LOGIN PASSWORD '" + APP_PASSWORD + "'",
                    "GRANT ALL ON DATABASE " + quote(DATABASE) + " TO " + quote(ROLE));
            Map<String, String> props = new LinkedHashMap<>();
            props.put("pgvigil.target.url", pg.jdbcUrl("postgres"));
            props.put("pgvigil.target.username", PgServer.MONITOR_ROLE);
            props.put("pgvigil.target.password-file", passwordFile.toString());
            props.put("pgvigil.api.token", API_TOKEN);
            props.put("pgvigil.metrics.token", METRICS_TOKEN);
            props.put("pgvigil.interval", "1s");
            props.put("pgvigil.indexes.interval", "1s");
            try (PackagedApp app = PackagedApp.start(props)) {
                // First the wrong password: authentication failures are logged, the password is not.
                PgServer.await("a refused login", () -> app.output().contains("28P01"));
                Files.writeString(passwordFile, PgServer.MONITOR_PASSWORD + "\n");
                PgServer.await("pgvigil up", () -> metrics(app).contains("pg_up 1.0\n"));

                List<String> answers = new ArrayList<>();
                JsonNode statements = null;
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (statements == null && System.nanoTime() < deadline) {
                    secretWorkload(pg);
                    Thread.sleep(1200);
                    HttpResponse<String> answer = app.getWithToken("/api/v1/statements?order=calls&limit=1000", API_TOKEN);
                    if (answer.statusCode() != 200) {
                        continue; // 503 no-interval-yet until two polls have reached the target
                    }
                    String body = answer.body();
                    JsonNode node = JSON.readTree(body);
                    for (JsonNode s : node.path("items")) {
                        if (s.path("database").asText().equals(DATABASE) && s.path("user").asText().equals(ROLE)
                                && s.path("query").asText().contains("ALTER ROLE")) {
                            statements = node;
                            answers.add(body);
                        }
                    }
                }
                assertThat(statements).as("the workload's statements reach /api/v1/statements, hostile names intact")
                        .isNotNull();
                assertThat(statements.toString()).as("literals masked, not dropped").contains("DO '…'", "PASSWORD '…'");

                for (String path : List.of("/api/v1/status", "/api/v1/findings", "/api/v1/indexes", "/api/v1/tables",
                        "/api/v1/activity", "/api/v1/history", "/api/v1/config",
                        "/api/v1/statements", "/api/v1/statements?order=mean_time&limit=1000",
                        "/api/v1/statements/hour?limit=1000")) {
                    HttpResponse<String> r = app.getWithToken(path, API_TOKEN);
                    assertThat(r.statusCode()).as(path).isEqualTo(200);
                    JSON.readTree(r.body()); // strict: throws on anything that is not one JSON document
                    answers.add(r.body());
                }
                assertThat(JSON.readTree(app.getWithToken("/api/v1/status", API_TOKEN).body()).toString())
                        .contains(jsonString(DATABASE));
                for (String path : List.of("/api/v1/statements?limit=-1", "/api/v1/statements?order=drop%20table",
                        "/api/v1/indexes?findings=maybe")) {
                    HttpResponse<String> r = app.getWithToken(path, API_TOKEN);
                    assertThat(r.statusCode()).as(path).isEqualTo(400);
                    assertThat(JSON.readTree(r.body()).path("detail").asText()).as(path).containsAnyOf("limit=", "order=", "findings=");
                    answers.add(r.body());
                }
                for (String path : List.of("/api/v1/status", "/metrics")) {
                    HttpResponse<String> r = app.getWithToken(path, "not-the-token-000000");
                    assertThat(r.statusCode()).isEqualTo(401);
                    assertThat(JSON.readTree(r.body()).path("status").asInt()).isEqualTo(401);
                    answers.add(r.body());
                }
                HttpResponse<String> missing = app.getWithToken("/api/v1/no-such-thing", API_TOKEN);
                assertThat(missing.statusCode()).isEqualTo(404);
                assertThat(JSON.readTree(missing.body()).path("status").asInt()).isEqualTo(404);
                answers.add(missing.body());
                HttpResponse<String> openApi = app.get("/q/openapi");
                assertThat(openApi.statusCode()).isEqualTo(200);
                JSON.readTree(openApi.body());
                answers.add(openApi.body());
                answers.add(metrics(app));
                answers.add(app.get("/q/health").body());

                // Everything the service printed and answered, one haystack.
                String everything = app.output() + "\n" + String.join("\n", answers);
                assertThat(everything).contains("password authentication failed"); // the errors are there...
                List<String> secrets = new ArrayList<>(List.of(PgServer.MONITOR_PASSWORD, WRONG_PASSWORD,
                        APP_PASSWORD, API_TOKEN, METRICS_TOKEN));
                secrets.addAll(LITERALS);
                for (String secret : secrets) {
                    assertThat(everything).as("everything pgvigil printed or answered").doesNotContain(secret);
                }
            }
        } finally {
            Files.deleteIfExists(passwordFile);
        }
    }

    /** Statements whose texts pg_stat_statements keeps with the literal in them unless pgvigil masks it. */
    private static void secretWorkload(PgServer pg) throws SQLException {
        String url = pg.jdbcUrl(java.net.URLEncoder.encode(DATABASE, java.nio.charset.StandardCharsets.UTF_8)
                .replace("+", "%20"));
        try (Connection c = DriverManager.getConnection(url + "?ApplicationName=app%20%22x%22", ROLE, APP_PASSWORD);
                Statement st = c.createStatement()) {
            // ALTER ROLE ... PASSWORD and DO are utility statements: kept verbatim, literal and all.
            st.execute("ALTER ROLE " + quote(ROLE) + " PASSWORD '" + APP_PASSWORD + "'");
            st.execute("ALTER ROLE " + quote(ROLE) + " SET application_name = '" + LITERALS.get(0) + "'");
            st.execute("DO $body$ BEGIN PERFORM '" + LITERALS.get(1) + "'; END $body$");
            st.execute("SELECT E'" + LITERALS.get(2) + "\\n', '" + LITERALS.get(3) + "'");
        }
    }

    private static String metrics(PackagedApp app) {
        return app.getWithToken("/metrics", METRICS_TOKEN).body();
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    private static String jsonString(String s) throws Exception {
        String json = JSON.writeValueAsString(s);
        return json.substring(1, json.length() - 1);
    }
}
