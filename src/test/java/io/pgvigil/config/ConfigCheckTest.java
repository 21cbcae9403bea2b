package io.pgvigil.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.pgvigil.testing.TestConfig;

/** Every rule of {@link ConfigCheck}, over the real config mapping; each problem names its key and value. */
class ConfigCheckTest {

    private static final String URL = "jdbc:postgresql://localhost:5432/postgres";

    @Test
    void defaultsWithAUrlAreValid() {
        assertThat(ConfigCheck.problems(config(Map.of("pgvigil.target.url", URL)), true)).isEmpty();
    }

    @Test
    void missingUrlIsAProblemOnlyWhenNoEmbeddedDatabaseStandsIn() {
        assertThat(ConfigCheck.problems(config(Map.of()), true))
                .containsExactly("pgvigil.target.url is not set: give the JDBC URL of the PostgreSQL server to watch"
                        + " (e.g. jdbc:postgresql://localhost:5432/postgres)");
        assertThat(ConfigCheck.problems(config(Map.of()), false)).isEmpty();
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "pgvigil.interval | 500ms | pgvigil.interval=PT0.5S must be at least PT1S",
            "pgvigil.interval | 0s | pgvigil.interval=PT0S must be at least PT1S",
            "pgvigil.target.url | postgres://localhost/db | pgvigil.target.url='postgres://localhost/db' is not a PostgreSQL JDBC URL",
            "pgvigil.target.url | jdbc:mysql://localhost/db | pgvigil.target.url='jdbc:mysql://localhost/db' is not a PostgreSQL JDBC URL",
            "pgvigil.target.url | jdbc:postgresql://localhost:99999999/db?password=hunter2 | pgvigil.target.url='jdbc:postgresql://localhost:99999999/db?…' is not a PostgreSQL JDBC URL",
            "pgvigil.target.max-connections | 0 | pgvigil.target.max-connections=0 must be at least 1",
            "pgvigil.target.statement-timeout | 0s | pgvigil.target.statement-timeout=PT0S must be at least PT0.001S",
            "pgvigil.target.lock-timeout | 0s | pgvigil.target.lock-timeout=PT0S must be at least PT0.001S",
            "pgvigil.target.connect-timeout | 100ms | pgvigil.target.connect-timeout=PT0.1S must be at least PT1S",
            "pgvigil.target.password-file | /nonexistent/pgvigil-password | pgvigil.target.password-file='/nonexistent/pgvigil-password' cannot be read",
            "pgvigil.checks.pool-saturation.warning | 1.5 | pgvigil.checks.pool-saturation.warning=1.5 is not a ratio between 0 and 1",
            "pgvigil.checks.pool-saturation.critical | -0.1 | pgvigil.checks.pool-saturation.critical=-0.1 is not a ratio between 0 and 1",
            "pgvigil.checks.pool-saturation.warning | 0.95 | pgvigil.checks.pool-saturation.warning=0.95 is above pgvigil.checks.pool-saturation.critical=0.9",
            "pgvigil.checks.rollback-rate.warning | NaN | pgvigil.checks.rollback-rate.warning=NaN is not a ratio between 0 and 1",
            "pgvigil.checks.rollback-rate.critical | 0.05 | pgvigil.checks.rollback-rate.warning=0.1 is above pgvigil.checks.rollback-rate.critical=0.05",
            "pgvigil.checks.rollback-rate.min-transactions | 0 | pgvigil.checks.rollback-rate.min-transactions=0 must be at least 1",
            "pgvigil.checks.long-transaction.warning | 10m | pgvigil.checks.long-transaction.warning=PT10M is above pgvigil.checks.long-transaction.critical=PT5M",
            "pgvigil.checks.long-transaction.critical | 0s | pgvigil.checks.long-transaction.critical=PT0S must be at least PT0.001S",
            "pgvigil.findings.max | 0 | pgvigil.findings.max=0 must be at least 1",
            "pgvigil.checks.index-hit-rate.critical | 0.995 | pgvigil.checks.index-hit-rate.critical=0.995 is above pgvigil.checks.index-hit-rate.warning=0.99",
            "pgvigil.checks.index-hit-rate.warning | 2 | pgvigil.checks.index-hit-rate.warning=2.0 is not a ratio between 0 and 1",
            "pgvigil.checks.index-hit-rate.min-block-accesses | 0 | pgvigil.checks.index-hit-rate.min-block-accesses=0 must be at least 1",
            "pgvigil.checks.unused-index.window | 0s | pgvigil.checks.unused-index.window=PT0S must be at least PT1S",
            "pgvigil.checks.seq-scan-heavy.warning | 1.2 | pgvigil.checks.seq-scan-heavy.warning=1.2 is not a ratio between 0 and 1",
            "pgvigil.checks.seq-scan-heavy.min-scans | 0 | pgvigil.checks.seq-scan-heavy.min-scans=0 must be at least 1",
            "pgvigil.checks.seq-scan-heavy.min-rows-per-scan | 0 | pgvigil.checks.seq-scan-heavy.min-rows-per-scan=0 must be at least 1",
            "pgvigil.indexes.interval | 5s | pgvigil.indexes.interval=PT5S is shorter than pgvigil.interval=PT15S",
            "pgvigil.api.token | short | pgvigil.api.token is shorter than 16 characters",
            "pgvigil.metrics.token | 0123456789 | pgvigil.metrics.token is shorter than 16 characters",
            "pgvigil.api.token-file | /nonexistent/api-token | pgvigil.api.token-file='/nonexistent/api-token' cannot be read",
            "pgvigil.metrics.token-file | /nonexistent/token | pgvigil.metrics.token-file='/nonexistent/token' cannot be read",
            "pgvigil.checks.slow-query.warning | 0s | pgvigil.checks.slow-query.warning=PT0S must be at least PT0.001S",
            "pgvigil.checks.slow-query.warning | 2s | pgvigil.checks.slow-query.warning=PT2S is above pgvigil.checks.slow-query.critical=PT1S",
            "pgvigil.checks.slow-query.min-calls | 0 | pgvigil.checks.slow-query.min-calls=0 must be at least 1",
            "pgvigil.checks.n-plus-one.min-calls | 1 | pgvigil.checks.n-plus-one.min-calls=1 must be at least 2",
            "pgvigil.checks.n-plus-one.ratio-min | 1.5 | pgvigil.checks.n-plus-one.ratio-min=1.5 must be above 0 and at most 1",
            "pgvigil.checks.n-plus-one.ratio-max | 0.9 | pgvigil.checks.n-plus-one.ratio-max=0.9 must be from 1 to 100",
            "pgvigil.checks.n-plus-one.critical-windows | 0 | pgvigil.checks.n-plus-one.critical-windows=0 must be at least 1",
            "pgvigil.checks.query-regression.warning | 1 | pgvigil.checks.query-regression.warning=1.0 must be above 1",
            "pgvigil.checks.query-regression.warning | 20 | pgvigil.checks.query-regression.warning=20.0 is above pgvigil.checks.query-regression.critical=10.0",
            "pgvigil.checks.query-regression.baseline-windows | 0 | pgvigil.checks.query-regression.baseline-windows=0 must be at least 1",
            "pgvigil.checks.temp-spill.warning | 2G | pgvigil.checks.temp-spill.warning=2147483648 bytes is above pgvigil.checks.temp-spill.critical=1073741824 bytes",
            "pgvigil.checks.replication-slot.warning | 20G | pgvigil.checks.replication-slot.warning=21474836480 bytes is above pgvigil.checks.replication-slot.critical=10737418240 bytes",
            "pgvigil.checks.replication-lag.warning | 1m | pgvigil.checks.replication-lag.warning=PT1M is above pgvigil.checks.replication-lag.critical=PT30S",
            "pgvigil.checks.replication-lag.warning-bytes | 0 | pgvigil.checks.replication-lag.warning-bytes=0 must be at least 1",
            "pgvigil.statements.top | 0 | pgvigil.statements.top=0 must be at least 1",
            "pgvigil.statements.text-max-length | 10 | pgvigil.statements.text-max-length=10 must be at least 64",
    })
    void invalidValueIsRejectedNamingItsKey(String key, String value, String problem) {
        Map<String, String> props = new HashMap<>(Map.of("pgvigil.target.url", URL));
        props.put(key, value);
        assertThat(ConfigCheck.problems(config(props), true)).anySatisfy(p -> assertThat(p).startsWith(problem));
    }

    @Test
    void passwordAndPasswordFileTogetherAreAmbiguous() throws Exception {
        Path file = Files.createTempFile("pgvigil", "pw");
        try {
            Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.target.password", "x",
                    "pgvigil.target.password-file", file.toString());
            assertThat(ConfigCheck.problems(config(props), true))
                    .containsExactly("pgvigil.target.password and pgvigil.target.password-file are both set: set only one");
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void aValueOfTheWrongTypeNamesItsKey() {
        assertThatThrownBy(() -> config(Map.of("pgvigil.interval", "often")))
                .hasMessageContaining("pgvigil.interval").hasMessageContaining("often");
        assertThatThrownBy(() -> config(Map.of("pgvigil.checks.rollback-rate.warning", "ten percent")))
                .hasMessageContaining("pgvigil.checks.rollback-rate.warning");
    }

    private static PgvigilConfig config(Map<String, String> props) {
        return TestConfig.of(props);
    }
}
