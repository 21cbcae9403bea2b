package io.pgvigil.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.postgresql.Driver;

/**
 * The rules that configuration must follow beyond its types. Each problem names the key and the
 * value that is wrong; {@link ConfigGate} refuses to start when there is any.
 */
public final class ConfigCheck {

    private ConfigCheck() {
    }

    /**
     * @param urlRequired whether a missing {@code pgvigil.target.url} is a problem (it is not in dev
     *                    mode, where the demo database stands in)
     */
    public static List<String> problems(PgvigilConfig config, boolean urlRequired) {
        List<String> problems = new ArrayList<>();
        atLeast(problems, "pgvigil.interval", config.interval(), Duration.ofSeconds(1));

        PgvigilConfig.Target target = config.target();
        if (target.url().isEmpty()) {
            if (urlRequired) {
                problems.add("pgvigil.target.url is not set: give the JDBC URL of the PostgreSQL server to watch"
                        + " (e.g. jdbc:postgresql://localhost:5432/postgres)");
            }
        } else {
            String url = target.url().get();
            if (!url.startsWith("jdbc:postgresql:") || Driver.parseURL(url, new Properties()) == null) {
                problems.add("pgvigil.target.url='" + Redact.url(url) + "' is not a PostgreSQL JDBC URL"
                        + " (expected jdbc:postgresql://host:port/database)");
            }
        }
        if (target.password().isPresent() && target.passwordFile().isPresent()) {
            problems.add("pgvigil.target.password and pgvigil.target.password-file are both set: set only one");
        }
        target.passwordFile().ifPresent(file -> {
            Path path = Path.of(file);
            try {
                Files.readString(path);
            } catch (IOException | RuntimeException e) {
                problems.add("pgvigil.target.password-file='" + file + "' cannot be read: " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : " " + e.getMessage()));
            }
        });
        atLeast(problems, "pgvigil.target.max-connections", target.maxConnections(), 1);
        atLeast(problems, "pgvigil.target.statement-timeout", target.statementTimeout(), Duration.ofMillis(1));
        atLeast(problems, "pgvigil.target.lock-timeout", target.lockTimeout(), Duration.ofMillis(1));
        atLeast(problems, "pgvigil.target.connect-timeout", target.connectTimeout(), Duration.ofSeconds(1));

        PgvigilConfig.Checks checks = config.checks();
        ratios(problems, "pool-saturation", checks.poolSaturation().warning(), checks.poolSaturation().critical());
        ratios(problems, "rollback-rate", checks.rollbackRate().warning(), checks.rollbackRate().critical());
        atLeast(problems, "pgvigil.checks.rollback-rate.min-transactions", checks.rollbackRate().minTransactions(), 1);
        Duration ltWarning = checks.longTransaction().warning();
        Duration ltCritical = checks.longTransaction().critical();
        atLeast(problems, "pgvigil.checks.long-transaction.warning", ltWarning, Duration.ofMillis(1));
        atLeast(problems, "pgvigil.checks.long-transaction.critical", ltCritical, Duration.ofMillis(1));
        ordered(problems, "long-transaction", ltWarning, ltCritical);
        atLeast(problems, "pgvigil.checks.slow-query.warning", checks.slowQuery().warning(), Duration.ofMillis(1));
        ordered(problems, "slow-query", checks.slowQuery().warning(), checks.slowQuery().critical());
        atLeast(problems, "pgvigil.checks.slow-query.min-calls", checks.slowQuery().minCalls(), 1);

        PgvigilConfig.NPlusOne nPlusOne = checks.nPlusOne();
        atLeast(problems, "pgvigil.checks.n-plus-one.min-calls", nPlusOne.minCalls(), 2);
        if (!(nPlusOne.ratioMin() > 0 && nPlusOne.ratioMin() <= 1)) {
            problems.add("pgvigil.checks.n-plus-one.ratio-min=" + nPlusOne.ratioMin() + " must be above 0 and at most 1");
        }
        if (!(nPlusOne.ratioMax() >= 1 && nPlusOne.ratioMax() < 100)) {
            problems.add("pgvigil.checks.n-plus-one.ratio-max=" + nPlusOne.ratioMax() + " must be from 1 to 100");
        }
        atLeast(problems, "pgvigil.checks.n-plus-one.critical-windows", nPlusOne.criticalWindows(), 1);

        PgvigilConfig.QueryRegression regression = checks.queryRegression();
        if (!(regression.warning() > 1)) {
            problems.add("pgvigil.checks.query-regression.warning=" + regression.warning()
                    + " must be above 1 (a multiple of the statement's baseline)");
        } else if (regression.warning() > regression.critical()) {
            problems.add("pgvigil.checks.query-regression.warning=" + regression.warning()
                    + " is above pgvigil.checks.query-regression.critical=" + regression.critical()
                    + ": warning must not exceed critical");
        }
        atLeast(problems, "pgvigil.checks.query-regression.min-calls", regression.minCalls(), 1);
        atLeast(problems, "pgvigil.checks.query-regression.baseline-windows", regression.baselineWindows(), 1);
        atLeast(problems, "pgvigil.checks.query-regression.min-mean", regression.minMean(), Duration.ZERO);

        byteThresholds(problems, "temp-spill", checks.tempSpill().warning().asLongValue(),
                checks.tempSpill().critical().asLongValue());
        PgvigilConfig.ReplicationLag lag = checks.replicationLag();
        atLeast(problems, "pgvigil.checks.replication-lag.warning", lag.warning(), Duration.ofMillis(1));
        ordered(problems, "replication-lag", lag.warning(), lag.critical());
        if (lag.warningBytes().isPresent() || lag.criticalBytes().isPresent()) {
            byteThresholds(problems, "replication-lag", lag.warningBytes().map(m -> m.asLongValue()).orElse(1L),
                    lag.criticalBytes().map(m -> m.asLongValue()).orElse(Long.MAX_VALUE));
        }
        byteThresholds(problems, "replication-slot", checks.replicationSlot().warning().asLongValue(),
                checks.replicationSlot().critical().asLongValue());

        PgvigilConfig.IndexHitRate hitRate = checks.indexHitRate();
        boolean inRange = ratio(problems, "pgvigil.checks.index-hit-rate.warning", hitRate.warning())
                & ratio(problems, "pgvigil.checks.index-hit-rate.critical", hitRate.critical());
        if (inRange && hitRate.critical() > hitRate.warning()) {
            problems.add("pgvigil.checks.index-hit-rate.critical=" + hitRate.critical()
                    + " is above pgvigil.checks.index-hit-rate.warning=" + hitRate.warning()
                    + ": a lower hit rate is worse, so critical must not exceed warning");
        }
        atLeast(problems, "pgvigil.checks.index-hit-rate.min-block-accesses", hitRate.minBlockAccesses(), 1);
        atLeast(problems, "pgvigil.checks.unused-index.window", checks.unusedIndex().window(), Duration.ofSeconds(1));
        PgvigilConfig.SeqScanHeavy seq = checks.seqScanHeavy();
        ratio(problems, "pgvigil.checks.seq-scan-heavy.warning", seq.warning());
        atLeast(problems, "pgvigil.checks.seq-scan-heavy.min-rows", seq.minRows(), 1);
        atLeast(problems, "pgvigil.checks.seq-scan-heavy.min-size", seq.minSize().asLongValue(), 1);
        atLeast(problems, "pgvigil.checks.seq-scan-heavy.min-scans", seq.minScans(), 1);
        atLeast(problems, "pgvigil.checks.seq-scan-heavy.min-rows-per-scan", seq.minRowsPerScan(), 1);

        clearing(problems, checks);

        atLeast(problems, "pgvigil.indexes.interval", config.indexes().interval(), Duration.ofSeconds(1));
        if (config.indexes().interval().compareTo(config.interval()) < 0) {
            problems.add("pgvigil.indexes.interval=" + config.indexes().interval() + " is shorter than pgvigil.interval="
                    + config.interval() + ": databases are visited from a poll, at most once per poll");
        }

        access(problems, "pgvigil.api", config.api());
        access(problems, "pgvigil.metrics", config.metrics());

        atLeast(problems, "pgvigil.statements.top", config.statements().top(), 1);
        atLeast(problems, "pgvigil.statements.text-max-length", config.statements().textMaxLength(), 64);
        atLeast(problems, "pgvigil.statements.text-cache-size", config.statements().textCacheSize(), 100);
        atLeast(problems, "pgvigil.findings.max", config.findings().max(), 1);
        return problems;
    }

    /** What a boolean key may say; SmallRye reads any other word as false, so a typo would switch a check off. */
    private static final java.util.Set<String> BOOLEAN_WORDS = java.util.Set.of("true", "false", "yes", "no", "on",
            "off", "1", "0", "y", "n");

    /**
     * Rules on raw values that the mapping cannot see: every {@code pgvigil.*.enabled} must be a boolean
     * word ({@code enabled=flase} must not silently mean false).
     */
    public static List<String> rawProblems(org.eclipse.microprofile.config.Config config) {
        List<String> problems = new ArrayList<>();
        for (String name : booleanKeys()) {
            // getConfigValue resolves every source, the PGVIGIL_..._ENABLED environment form included.
            String raw = config.getConfigValue(name).getValue();
            if (raw != null && !BOOLEAN_WORDS.contains(raw.strip().toLowerCase(java.util.Locale.ROOT))) {
                problems.add(name + "='" + raw + "' is not true or false");
            }
        }
        return problems;
    }

    /** pgvigil.indexes.enabled and pgvigil.checks.&lt;check&gt;.enabled, one per method of {@link PgvigilConfig.Checks}. */
    static List<String> booleanKeys() {
        List<String> keys = new ArrayList<>(List.of("pgvigil.indexes.enabled"));
        java.util.Arrays.stream(PgvigilConfig.Checks.class.getDeclaredMethods()).map(java.lang.reflect.Method::getName)
                .sorted().forEach(m -> keys.add("pgvigil.checks." + m.replaceAll("([A-Z])", "-$1")
                        .toLowerCase(java.util.Locale.ROOT) + ".enabled"));
        return keys;
    }

    /** {@code clear-margin} and {@code clear-after} of every check, found by walking {@link PgvigilConfig.Checks}. */
    private static void clearing(List<String> problems, PgvigilConfig.Checks checks) {
        for (java.lang.reflect.Method m : PgvigilConfig.Checks.class.getDeclaredMethods()) {
            if (m.getParameterCount() != 0 || !PgvigilConfig.CheckConfig.class.isAssignableFrom(m.getReturnType())) {
                continue;
            }
            PgvigilConfig.CheckConfig check;
            try {
                check = (PgvigilConfig.CheckConfig) m.invoke(checks);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
            String prefix = "pgvigil.checks." + m.getName().replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT);
            if (!(check.clearMargin() >= 0 && check.clearMargin() < 1)) {
                problems.add(prefix + ".clear-margin=" + check.clearMargin()
                        + " must be from 0 to below 1 (a share of the threshold)");
            }
            atLeast(problems, prefix + ".clear-after", check.clearAfter(), 1);
        }
    }

    private static void access(List<String> problems, String prefix, PgvigilConfig.Access access) {
        if (access.token().isPresent() && access.tokenFile().isPresent()) {
            problems.add(prefix + ".token and " + prefix + ".token-file are both set: set only one");
        }
        // The token's value is never repeated in a message.
        access.token().filter(t -> t.strip().length() < 16)
                .ifPresent(t -> problems.add(prefix + ".token is shorter than 16 characters: use a random token"));
        access.tokenFile().ifPresent(file -> {
            try {
                if (Files.readString(Path.of(file)).strip().isEmpty()) {
                    problems.add(prefix + ".token-file='" + file + "' is empty");
                }
            } catch (IOException | RuntimeException e) {
                problems.add(prefix + ".token-file='" + file + "' cannot be read: " + e.getClass().getSimpleName());
            }
        });
    }

    private static void atLeast(List<String> problems, String key, Duration value, Duration min) {
        if (value.compareTo(min) < 0) {
            problems.add(key + "=" + value + " must be at least " + min);
        }
    }

    private static void atLeast(List<String> problems, String key, long value, long min) {
        if (value < min) {
            problems.add(key + "=" + value + " must be at least " + min);
        }
    }

    private static void byteThresholds(List<String> problems, String check, long warning, long critical) {
        String suffix = check.equals("replication-lag") ? "-bytes" : "";
        atLeast(problems, "pgvigil.checks." + check + ".warning" + suffix, warning, 1);
        if (warning > critical) {
            problems.add("pgvigil.checks." + check + ".warning" + suffix + "=" + warning + " bytes is above pgvigil.checks."
                    + check + ".critical" + suffix + "=" + critical + " bytes: warning must not exceed critical");
        }
    }

    private static void ordered(List<String> problems, String check, Duration warning, Duration critical) {
        if (warning.compareTo(critical) > 0) {
            problems.add("pgvigil.checks." + check + ".warning=" + warning + " is above pgvigil.checks." + check
                    + ".critical=" + critical + ": warning must not exceed critical");
        }
    }

    private static void ratios(List<String> problems, String check, double warning, double critical) {
        String prefix = "pgvigil.checks." + check + ".";
        boolean inRange = ratio(problems, prefix + "warning", warning) & ratio(problems, prefix + "critical", critical);
        if (inRange && warning > critical) {
            problems.add(prefix + "warning=" + warning + " is above " + prefix + "critical=" + critical
                    + ": warning must not exceed critical");
        }
    }

    private static boolean ratio(List<String> problems, String key, double value) {
        if (value >= 0 && value <= 1) {
            return true;
        }
        problems.add(key + "=" + value + " is not a ratio between 0 and 1");
        return false;
    }
}
