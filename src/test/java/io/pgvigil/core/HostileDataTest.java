package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.Promtool;
import io.pgvigil.testing.TestMonitor;

/**
 * Names and texts an attacker or a careless application can put in the statistics: database and
 * role names with quotes, backslashes and newlines, a 1 MiB query text, and a query text with bytes
 * that are not UTF-8 (from a SQL_ASCII database). The exposition must stay valid for a real
 * Prometheus parser (promtool check metrics), the statements must still be collected, and their
 * JSON must serialize. Escaping does not depend on the server version: the default major only.
 */
class HostileDataTest {

    static final String DB = "we\"ird\\db\nname";
    static final String ROLE = "r\"o\\le\nx";

    @Test
    void hostileNamesAndTextsKeepTheExpositionAndTheApiValid() throws Exception {
        PgServer pg = PgServer.shared(PgServer.defaultMajor());
        String quotedDb = '"' + DB.replace("\"", "\"\"") + '"';
        String quotedRole = '"' + ROLE.replace("\"", "\"\"") + '"';
        pg.execute("DROP DATABASE IF EXISTS " + quotedDb + " WITH (FORCE)", "DROP DATABASE IF EXISTS ascii WITH (FORCE)",
                "DROP ROLE IF EXISTS " + quotedRole,
                "CREATE ROLE " + quotedRole + " LOGIN",
                "CREATE DATABASE " + quotedDb + " OWNER " + quotedRole,
                "CREATE DATABASE ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        try (TestMonitor m = TestMonitor.watching(pg)) {
            m.poll();
            try (Connection c = pg.connect(DB); Statement st = c.createStatement()) {
                st.execute("SET ROLE " + quotedRole);
                st.execute("CREATE TABLE \"t\"\"a\\b\nle\" (id int PRIMARY KEY)");
                String mib = "x".repeat(1 << 20);
                st.execute("SELECT 'it''s a \\ back\nslash', 1 /* " + mib + " */");
                st.execute("SELECT count(*) FROM \"t\"\"a\\b\nle\" WHERE id = 42");
            }
            // A statement whose text holds a byte that is not UTF-8: SQL_ASCII stores bytes as given.
            try (Connection c = pg.connect("ascii"); Statement st = c.createStatement()) {
                st.execute("SET pg_stat_statements.track = 'all'");
                st.execute("DO $$ BEGIN EXECUTE format('SELECT 1 /* %s */', chr(200)); END $$");
            }
            m.poll();
            PollState state = m.poll();
            Statements statements = state.snapshot().get(Statements.class).orElseThrow();
            // The texts could not be read this time; the numbers were.
            assertThat(statements.entries()).anySatisfy(s -> assertThat(s.text()).isNull());
            assertThat(state.collectors()).filteredOn(c -> c.collector().equals("pg_stat_statements"))
                    .allSatisfy(c -> assertThat(c.success()).as(c.error()).isTrue());
            assertThat(statements.entries()).anySatisfy(s -> assertThat(s.datname()).isEqualTo(DB));
            assertThat(statements.entries()).anySatisfy(s -> assertThat(s.user()).isEqualTo(ROLE));
            assertThat(statements.entries()).allSatisfy(s -> {
                if (s.text() != null) {
                    assertThat(s.text().length()).isLessThanOrEqualTo(m.config.statements().textMaxLength() + 1);
                }
            });
            // JSON of everything the API would serve from it.
            String json = new ObjectMapper().findAndRegisterModules().writeValueAsString(statements.entries());
            new ObjectMapper().readTree(json);

            String exposition = m.scrapeClassic();
            assertThat(exposition).contains("datname=\"we\\\"ird\\\\db\\nname\"");
            Promtool.Result lint = promtoolCheckMetrics(exposition);
            assertThat(lint.output()).as("promtool parses the exposition").doesNotContain("error while linting");
            assertThat(lint.output().lines().filter(l -> l.startsWith("pg_") || l.startsWith("pgvigil_")))
                    .as("promtool's lint on pgvigil's own metrics").isEmpty();
        } finally {
            // The non-UTF-8 text would keep every later test on this shared server without texts
            // (pgvigil's fallback): its entries go with the database.
            pg.execute("SELECT pg_stat_statements_reset(0, oid, 0) FROM pg_database WHERE datname = 'ascii'",
                    "DROP DATABASE IF EXISTS " + quotedDb + " WITH (FORCE)", "DROP DATABASE IF EXISTS ascii WITH (FORCE)",
                    "DROP ROLE IF EXISTS " + quotedRole);
        }
    }

    static Promtool.Result promtoolCheckMetrics(String exposition) throws Exception {
        Process p = new ProcessBuilder(Promtool.require("promtool").toString(), "check", "metrics")
                .redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Promtool.Result(p.exitValue(), out);
    }
}
