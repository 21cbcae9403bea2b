package io.pgvigil.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.pgvigil.testing.TestConfig;
import io.smallrye.config.ConfigValidationException;

/**
 * Every rule on configuration, over the real config mapping with Quarkus' validation: the constraint
 * annotations of {@link PgvigilConfig} (refused while the mapping is built, as Quarkus does at start-up)
 * and the rules of {@link ConfigCheck}. Each problem names its key and value and says what is allowed.
 */
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
            "pgvigil.interval | 500ms | pgvigil.interval is PT0.5S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.interval | 0s | pgvigil.interval is PT0S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.target.url | postgres://localhost/db | pgvigil.target.url='postgres://localhost/db' is not a PostgreSQL JDBC URL",
            "pgvigil.target.url | jdbc:mysql://localhost/db | pgvigil.target.url='jdbc:mysql://localhost/db' is not a PostgreSQL JDBC URL",
            "pgvigil.target.url | jdbc:postgresql://localhost:99999999/db?password=hunter2 | pgvigil.target.url='jdbc:postgresql://localhost:99999999/db?…' is not a PostgreSQL JDBC URL",
            "pgvigil.target.max-connections | 0 | pgvigil.target.max-connections is 0: must be at least 1",
            "pgvigil.target.statement-timeout | 0s | pgvigil.target.statement-timeout is PT0S: must be at least 1ms (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.target.lock-timeout | 0s | pgvigil.target.lock-timeout is PT0S: must be at least 1ms (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.target.connect-timeout | 100ms | pgvigil.target.connect-timeout is PT0.1S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.target.password-file | /nonexistent/pgvigil-password | pgvigil.target.password-file='/nonexistent/pgvigil-password' cannot be read",
            "pgvigil.pgbouncer.url | localhost:6432 | pgvigil.pgbouncer.url='localhost:6432' is not a postgresql:// URL with a host",
            "pgvigil.pgbouncer.url | postgresql://localhost:6432/app | pgvigil.pgbouncer.url='postgresql://localhost:6432/app' names database app: pgvigil reads PgBouncer's admin console, database pgbouncer",
            "pgvigil.pgbouncer.url | postgresql://localhost:6432/pgbouncer?password=hunter2 | pgvigil.pgbouncer.url='postgresql://localhost:6432/pgbouncer?…' has a query string or user info",
            "pgvigil.pgbouncer.url | postgresql://localhost:99999 | pgvigil.pgbouncer.url='postgresql://localhost:99999' has port 99999: must be 1 to 65535",
            "pgvigil.pgbouncer.name | edge | pgvigil.pgbouncer.name is set but pgvigil.pgbouncer.url is not",
            "pgvigil.checks.pooler-saturation.warning | 10s | pgvigil.checks.pooler-saturation.warning=PT10S is above pgvigil.checks.pooler-saturation.critical=PT5S",
            "pgvigil.pgbouncer.username | pgvigil | pgvigil.pgbouncer.username is set but pgvigil.pgbouncer.url is not",
            "pgvigil.pgbouncer.password | secret | pgvigil.pgbouncer.password is set but pgvigil.pgbouncer.url is not",
            "pgvigil.pgbouncer.password-file | /nonexistent/pgbouncer-password | pgvigil.pgbouncer.password-file is set but pgvigil.pgbouncer.url is not",
            "pgvigil.checks.pool-saturation.warning | 1.5 | pgvigil.checks.pool-saturation.warning is 1.5: must be a ratio from 0 to 1",
            "pgvigil.checks.pool-saturation.critical | -0.1 | pgvigil.checks.pool-saturation.critical is -0.1: must be a ratio from 0 to 1",
            "pgvigil.checks.pool-saturation.warning | 0.95 | pgvigil.checks.pool-saturation.warning=0.95 is above pgvigil.checks.pool-saturation.critical=0.9",
            "pgvigil.checks.rollback-rate.warning | NaN | pgvigil.checks.rollback-rate.warning is NaN: must be a ratio from 0 to 1",
            "pgvigil.checks.rollback-rate.critical | 0.05 | pgvigil.checks.rollback-rate.warning=0.1 is above pgvigil.checks.rollback-rate.critical=0.05",
            "pgvigil.checks.rollback-rate.min-transactions | 0 | pgvigil.checks.rollback-rate.min-transactions is 0: must be at least 1",
            "pgvigil.checks.long-transaction.warning | 10m | pgvigil.checks.long-transaction.warning=PT10M is above pgvigil.checks.long-transaction.critical=PT5M",
            "pgvigil.checks.long-transaction.critical | 0s | pgvigil.checks.long-transaction.critical is PT0S: must be at least 1ms (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.checks.lock-wait.warning | 2m | pgvigil.checks.lock-wait.warning=PT2M is above pgvigil.checks.lock-wait.critical=PT1M",
            "pgvigil.checks.lock-wait.critical | 0s | pgvigil.checks.lock-wait.critical is PT0S: must be at least 1ms",
            "pgvigil.checks.xid-wraparound.warning | 0.8 | pgvigil.checks.xid-wraparound.warning=0.8 is above pgvigil.checks.xid-wraparound.critical=0.75",
            "pgvigil.checks.xid-wraparound.critical | 1.5 | pgvigil.checks.xid-wraparound.critical is 1.5: must be a ratio from 0 to 1",
            "pgvigil.checks.xmin-horizon.critical | 1000 | pgvigil.checks.xmin-horizon.warning=50000000 is above pgvigil.checks.xmin-horizon.critical=1000",
            "pgvigil.checks.xmin-horizon.critical | 0 | pgvigil.checks.xmin-horizon.critical is 0: must be at least 1",
            "pgvigil.checks.xmin-horizon.warning | 0 | pgvigil.checks.xmin-horizon.warning is 0: must be at least 1",
            "pgvigil.checks.vacuum-lag.warning | 0.5 | pgvigil.checks.vacuum-lag.warning is 0.5: must be at least 1",
            "pgvigil.checks.vacuum-lag.min-dead-tuples | 0 | pgvigil.checks.vacuum-lag.min-dead-tuples is 0: must be at least 1",
            "pgvigil.checks.checkpoint-pressure.warning | 2 | pgvigil.checks.checkpoint-pressure.warning is 2.0: must be a ratio from 0 to 1",
            "pgvigil.checks.checkpoint-pressure.min-checkpoints | 0 | pgvigil.checks.checkpoint-pressure.min-checkpoints is 0: must be at least 1",
            "pgvigil.checks.checkpoint-pressure.window | 10s | pgvigil.checks.checkpoint-pressure.window is PT10S: must be at least 1m",
            "pgvigil.findings.max | 0 | pgvigil.findings.max is 0: must be at least 1",
            "pgvigil.checks.index-hit-rate.critical | 0.995 | pgvigil.checks.index-hit-rate.critical=0.995 is above pgvigil.checks.index-hit-rate.warning=0.99",
            "pgvigil.checks.index-hit-rate.warning | 2 | pgvigil.checks.index-hit-rate.warning is 2.0: must be a ratio from 0 to 1",
            "pgvigil.checks.index-hit-rate.min-block-accesses | 0 | pgvigil.checks.index-hit-rate.min-block-accesses is 0: must be at least 1",
            "pgvigil.checks.unused-index.window | 0s | pgvigil.checks.unused-index.window is PT0S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.checks.seq-scan-heavy.warning | 1.2 | pgvigil.checks.seq-scan-heavy.warning is 1.2: must be a ratio from 0 to 1",
            "pgvigil.checks.seq-scan-heavy.min-scans | 0 | pgvigil.checks.seq-scan-heavy.min-scans is 0: must be at least 1",
            "pgvigil.checks.seq-scan-heavy.min-size | 0 | pgvigil.checks.seq-scan-heavy.min-size is 0 bytes: must be at least 1 byte (a size such as 512K, 10M or 1G)",
            "pgvigil.checks.seq-scan-heavy.min-rows-per-scan | 0 | pgvigil.checks.seq-scan-heavy.min-rows-per-scan is 0: must be at least 1",
            "pgvigil.indexes.interval | 5s | pgvigil.indexes.interval=PT5S is shorter than pgvigil.interval=PT15S",
            "pgvigil.api.token | short | pgvigil.api.token is shorter than 16 characters: use a random token (its value is not repeated here)",
            "pgvigil.api.token | '  0123456789abcde  ' | pgvigil.api.token is shorter than 16 characters",
            "pgvigil.metrics.token | 0123456789 | pgvigil.metrics.token is shorter than 16 characters",
            "pgvigil.api.token-file | /nonexistent/api-token | pgvigil.api.token-file='/nonexistent/api-token' cannot be read",
            "pgvigil.metrics.token-file | /nonexistent/token | pgvigil.metrics.token-file='/nonexistent/token' cannot be read",
            "pgvigil.checks.slow-query.warning | 0s | pgvigil.checks.slow-query.warning is PT0S: must be at least 1ms (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.checks.slow-query.warning | 2s | pgvigil.checks.slow-query.warning=PT2S is above pgvigil.checks.slow-query.critical=PT1S",
            "pgvigil.checks.slow-query.min-calls | 0 | pgvigil.checks.slow-query.min-calls is 0: must be at least 1",
            "pgvigil.checks.slow-query.clear-margin | 1 | pgvigil.checks.slow-query.clear-margin is 1.0: must be from 0 to below 1 (a share of the threshold)",
            "pgvigil.checks.index-hit-rate.clear-after | 0 | pgvigil.checks.index-hit-rate.clear-after is 0: must be at least 1",
            "pgvigil.checks.n-plus-one.min-calls | 1 | pgvigil.checks.n-plus-one.min-calls is 1: must be at least 2",
            "pgvigil.checks.n-plus-one.ratio-min | 1.5 | pgvigil.checks.n-plus-one.ratio-min is 1.5: must be above 0 and at most 1",
            "pgvigil.checks.n-plus-one.ratio-min | 0 | pgvigil.checks.n-plus-one.ratio-min is 0.0: must be above 0 and at most 1",
            "pgvigil.checks.n-plus-one.ratio-max | 0.9 | pgvigil.checks.n-plus-one.ratio-max is 0.9: must be from 1 to below 100",
            "pgvigil.checks.n-plus-one.ratio-max | 100 | pgvigil.checks.n-plus-one.ratio-max is 100.0: must be from 1 to below 100",
            "pgvigil.checks.n-plus-one.min-fan-out | 1.5 | pgvigil.checks.n-plus-one.min-fan-out is 1.5: must be at least 2",
            "pgvigil.checks.n-plus-one.lookup-ratio-min | 0 | pgvigil.checks.n-plus-one.lookup-ratio-min is 0.0: must be above 0 and at most 1",
            "pgvigil.checks.n-plus-one.window | 31m | pgvigil.checks.n-plus-one.window=PT31M holds 124 polls of pgvigil.interval=PT15S: at most 120, since every statement keeps a sample per poll of its window",
            "pgvigil.checks.n-plus-one.window | 0s | pgvigil.checks.n-plus-one.window is PT0S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.checks.n-plus-one.warning | 0 | pgvigil.checks.n-plus-one.warning is 0.0: must be above 0",
            "pgvigil.checks.n-plus-one.warning | 60 | pgvigil.checks.n-plus-one.warning=60.0 is above pgvigil.checks.n-plus-one.critical=50.0: warning must not exceed critical",
            "pgvigil.checks.query-regression.warning | 1 | pgvigil.checks.query-regression.warning is 1.0: must be above 1 (a multiple of the statement's baseline)",
            "pgvigil.checks.query-regression.warning | 20 | pgvigil.checks.query-regression.warning=20.0 is above pgvigil.checks.query-regression.critical=10.0",
            "pgvigil.checks.query-regression.baseline-windows | 0 | pgvigil.checks.query-regression.baseline-windows is 0: must be at least 1",
            "pgvigil.checks.query-regression.min-mean | -1ms | pgvigil.checks.query-regression.min-mean is PT-0.001S: must not be negative (a duration such as 100ms, 15s, 5m or PT1M)",
            "pgvigil.checks.temp-spill.warning | 2G | pgvigil.checks.temp-spill.warning=2147483648 bytes is above pgvigil.checks.temp-spill.critical=1073741824 bytes",
            "pgvigil.checks.replication-slot.warning | 20G | pgvigil.checks.replication-slot.warning=21474836480 bytes is above pgvigil.checks.replication-slot.critical=10737418240 bytes",
            "pgvigil.checks.replication-lag.warning | 1m | pgvigil.checks.replication-lag.warning=PT1M is above pgvigil.checks.replication-lag.critical=PT30S",
            "pgvigil.checks.replication-lag.warning-bytes | 0 | pgvigil.checks.replication-lag.warning-bytes is 0 bytes: must be at least 1 byte (a size such as 512K, 10M or 1G)",
            "pgvigil.statements.top | 0 | pgvigil.statements.top is 0: must be at least 1",
            "pgvigil.statements.text-max-length | 10 | pgvigil.statements.text-max-length is 10: must be at least 64",
    })
    void invalidValueIsRejectedNamingItsKey(String key, String value, String problem) {
        Map<String, String> props = new HashMap<>(Map.of("pgvigil.target.url", URL));
        props.put(key, value);
        assertThat(refusals(props)).anySatisfy(p -> assertThat(p).startsWith(problem));
    }

    @Test
    void aPgBouncerNeedsAValidNameAUserAndOneReadablePassword() {
        Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.pgbouncer.url", "postgresql://pooler:6432",
                "pgvigil.pgbouncer.name", "edge pooler", "pgvigil.pgbouncer.password", "x",
                "pgvigil.pgbouncer.password-file", "/nonexistent/pgbouncer-password");
        assertThat(refusals(props)).anySatisfy(p -> assertThat(p).startsWith(
                "pgvigil.pgbouncer.name='edge pooler' is not a valid name: 1 to 63 letters, digits"))
                .contains("pgvigil.pgbouncer.username is not set: give a user listed in PgBouncer's stats_users",
                        "pgvigil.pgbouncer.password and pgvigil.pgbouncer.password-file are both set: set only one")
                .anySatisfy(p -> assertThat(p).startsWith(
                        "pgvigil.pgbouncer.password-file='/nonexistent/pgbouncer-password' cannot be read"));
        assertThat(refusals(Map.of("pgvigil.target.url", URL, "pgvigil.pgbouncer.url", "jdbc:postgresql://pooler/pgbouncer",
                "pgvigil.pgbouncer.username", "pgvigil", "pgvigil.pgbouncer.password", "x"))).isEmpty();
        var target = io.pgvigil.pgbouncer.PgBouncerTarget.of(config(Map.of("pgvigil.target.url", URL,
                "pgvigil.pgbouncer.url", "postgresql://pooler", "pgvigil.pgbouncer.username", "pgvigil")).pgbouncer())
                .orElseThrow();
        assertThat(target.name()).isEqualTo("pooler:6432");
        assertThat(target.port()).isEqualTo(6432);
    }

    @Test
    void aPgBouncerHostNameWithAnUnderscoreIsAccepted() {
        // A docker compose service name: no RFC 2396 host, so java.net.URI has no host for it.
        Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.pgbouncer.url", "postgresql://my_pgbouncer:6433",
                "pgvigil.pgbouncer.username", "pgvigil", "pgvigil.pgbouncer.password", "x");
        assertThat(refusals(props)).isEmpty();
        var target = io.pgvigil.pgbouncer.PgBouncerTarget.of(config(props).pgbouncer()).orElseThrow();
        assertThat(target.host()).isEqualTo("my_pgbouncer");
        assertThat(target.port()).isEqualTo(6433);
        assertThat(target.name()).isEqualTo("my_pgbouncer:6433");
        assertThat(refusals(Map.of("pgvigil.target.url", URL, "pgvigil.pgbouncer.url", "postgresql://my_pgbouncer:99999",
                "pgvigil.pgbouncer.username", "pgvigil"))).anySatisfy(p -> assertThat(p).startsWith(
                        "pgvigil.pgbouncer.url='postgresql://my_pgbouncer:99999' has port 99999: must be 1 to 65535"));
    }

    @Test
    void aPgBouncerTargetNeverPrintsItsPassword() {
        var target = io.pgvigil.pgbouncer.PgBouncerTarget.of(config(Map.of("pgvigil.target.url", URL,
                "pgvigil.pgbouncer.url", "postgresql://pooler", "pgvigil.pgbouncer.username", "pgvigil",
                "pgvigil.pgbouncer.password", "hunter2-secret")).pgbouncer()).orElseThrow();
        assertThat(target.toString()).doesNotContain("hunter2-secret").contains("pooler:6432", "pgvigil", "password=(set)");
    }

    @Test
    void everyBrokenLimitIsListedAtOnceAndAnUnreadableNumberOnlyOnce() {
        Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.interval", "0s",
                "pgvigil.checks.rollback-rate.warning", "NaN", "pgvigil.checks.temp-spill.critical", "0",
                "pgvigil.metrics.token", "short-secret");
        assertThat(refusals(props)).containsExactlyInAnyOrder(
                "pgvigil.interval is PT0S: must be at least 1s (a duration such as 100ms, 15s, 5m or PT1M)",
                "pgvigil.checks.rollback-rate.warning is NaN: must be a ratio from 0 to 1",
                "pgvigil.checks.temp-spill.critical is 0 bytes: must be at least 1 byte (a size such as 512K, 10M or 1G)",
                "pgvigil.metrics.token is shorter than 16 characters: use a random token (its value is not repeated here)");
    }

    @Test
    void replicationLagInBytesMustNotWarnAboveCritical() {
        Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.checks.replication-lag.warning-bytes", "2G",
                "pgvigil.checks.replication-lag.critical-bytes", "1G");
        assertThat(refusals(props)).containsExactly("pgvigil.checks.replication-lag.warning-bytes=2147483648 bytes is above"
                + " pgvigil.checks.replication-lag.critical-bytes=1073741824 bytes: warning must not exceed critical");
    }

    @Test
    void plansNeedTheDatabaseVisits() {
        Map<String, String> props = Map.of("pgvigil.target.url", URL, "pgvigil.plans.enabled", "true",
                "pgvigil.indexes.enabled", "false");
        assertThat(refusals(props)).containsExactly("pgvigil.plans.enabled=true needs pgvigil.indexes.enabled=true:"
                + " statements are planned during the database visits, which pgvigil.indexes.enabled=false turns off");
    }

    /** What a user is told: the mapping's constraint violations if there are any (Quarkus stops there), else ConfigCheck's problems. */
    static List<String> refusals(Map<String, String> props) {
        try {
            return ConfigCheck.problems(config(props), true);
        } catch (ConfigValidationException e) {
            return IntStream.range(0, e.getProblemCount()).mapToObj(i -> e.getProblem(i).getMessage()).toList();
        }
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
