package io.pgvigil.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.postgresql.Driver;

import io.quarkus.runtime.configuration.MemorySize;

/**
 * The rules on configuration that constraint annotations on {@link PgvigilConfig} cannot say: rules
 * between keys (warning must not exceed critical, indexes.interval not shorter than interval, not both
 * a secret and its file), files that must be readable, the JDBC URL (parsed by the driver; shown
 * without its query string, which may hold a password) and misspelt booleans ({@link #rawProblems}).
 * Single-key limits are annotations, which Quarkus checks when it maps the configuration; these rules
 * therefore see values that are each in range. Each problem names the keys and the values that are
 * wrong; {@link ConfigGate} refuses to start when there is any.
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

        problems.addAll(io.pgvigil.pgbouncer.PgBouncerTarget.problems(config.pgbouncer()));

        PgvigilConfig.Checks checks = config.checks();
        ordered(problems, "pool-saturation", checks.poolSaturation().warning(), checks.poolSaturation().critical());
        ordered(problems, "rollback-rate", checks.rollbackRate().warning(), checks.rollbackRate().critical());
        ordered(problems, "long-transaction", checks.longTransaction().warning(), checks.longTransaction().critical());
        ordered(problems, "slow-query", checks.slowQuery().warning(), checks.slowQuery().critical());
        ordered(problems, "n-plus-one", checks.nPlusOne().warning(), checks.nPlusOne().critical());
        long intervalsPerWindow = checks.nPlusOne().window().toMillis() / Math.max(1, config.interval().toMillis());
        if (intervalsPerWindow > 120) {
            problems.add("pgvigil.checks.n-plus-one.window=" + checks.nPlusOne().window() + " holds " + intervalsPerWindow
                    + " polls of pgvigil.interval=" + config.interval() + ": at most 120, since every statement keeps a"
                    + " sample per poll of its window");
        }
                ordered(problems, "query-regression", checks.queryRegression().warning(), checks.queryRegression().critical());
        byteThresholds(problems, "temp-spill", "", checks.tempSpill().warning(), checks.tempSpill().critical());
        PgvigilConfig.ReplicationLag lag = checks.replicationLag();
        ordered(problems, "replication-lag", lag.warning(), lag.critical());
        if (lag.warningBytes().isPresent() && lag.criticalBytes().isPresent()) {
            byteThresholds(problems, "replication-lag", "-bytes", lag.warningBytes().get(), lag.criticalBytes().get());
        }
        byteThresholds(problems, "replication-slot", "", checks.replicationSlot().warning(),
                checks.replicationSlot().critical());
        ordered(problems, "lock-wait", checks.lockWait().warning(), checks.lockWait().critical());
        ordered(problems, "pooler-saturation", checks.poolerSaturation().warning(), checks.poolerSaturation().critical());
        ordered(problems, "xid-wraparound", checks.xidWraparound().warning(), checks.xidWraparound().critical());
        PgvigilConfig.XminHorizon horizon = checks.xminHorizon();
        if (horizon.critical().isPresent()) {
            if (horizon.critical().getAsLong() < 1) {
                problems.add("pgvigil.checks.xmin-horizon.critical is " + horizon.critical().getAsLong()
                        + ": must be at least 1 (or unset: the server's autovacuum_freeze_max_age)");
            } else {
                ordered(problems, "xmin-horizon", horizon.warning(), horizon.critical().getAsLong());
            }
        }

        PgvigilConfig.IndexHitRate hitRate = checks.indexHitRate();
        if (hitRate.critical() > hitRate.warning()) {
            problems.add("pgvigil.checks.index-hit-rate.critical=" + hitRate.critical()
                    + " is above pgvigil.checks.index-hit-rate.warning=" + hitRate.warning()
                    + ": a lower hit rate is worse, so critical must not exceed warning");
        }

        if (config.indexes().interval().compareTo(config.interval()) < 0) {
            problems.add("pgvigil.indexes.interval=" + config.indexes().interval() + " is shorter than pgvigil.interval="
                    + config.interval() + ": databases are visited from a poll, at most once per poll");
        }
        if (config.plans().enabled() && !config.indexes().enabled()) {
            problems.add("pgvigil.plans.enabled=true needs pgvigil.indexes.enabled=true: statements are planned during"
                    + " the database visits, which pgvigil.indexes.enabled=false turns off");
        }

        access(problems, "pgvigil.api", config.api());
        access(problems, "pgvigil.metrics", config.metrics());
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

    /** pgvigil.indexes.enabled, pgvigil.plans.enabled and pgvigil.checks.&lt;check&gt;.enabled, one per method of {@link PgvigilConfig.Checks}. */
    static List<String> booleanKeys() {
        List<String> keys = new ArrayList<>(List.of("pgvigil.indexes.enabled", "pgvigil.plans.enabled"));
        java.util.Arrays.stream(PgvigilConfig.Checks.class.getDeclaredMethods()).map(java.lang.reflect.Method::getName)
                .sorted().forEach(m -> keys.add("pgvigil.checks." + m.replaceAll("([A-Z])", "-$1")
                        .toLowerCase(java.util.Locale.ROOT) + ".enabled"));
        return keys;
    }

    private static void access(List<String> problems, String prefix, PgvigilConfig.Access access) {
        if (access.token().isPresent() && access.tokenFile().isPresent()) {
            problems.add(prefix + ".token and " + prefix + ".token-file are both set: set only one");
        }
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

    private static void byteThresholds(List<String> problems, String check, String suffix, MemorySize warning,
            MemorySize critical) {
        if (warning.asBigInteger().compareTo(critical.asBigInteger()) > 0) {
            problems.add("pgvigil.checks." + check + ".warning" + suffix + "=" + warning.asBigInteger()
                    + " bytes is above pgvigil.checks." + check + ".critical" + suffix + "=" + critical.asBigInteger()
                    + " bytes: warning must not exceed critical");
        }
    }

    private static void ordered(List<String> problems, String check, Duration warning, Duration critical) {
        if (warning.compareTo(critical) > 0) {
            problems.add("pgvigil.checks." + check + ".warning=" + warning + " is above pgvigil.checks." + check
                    + ".critical=" + critical + ": warning must not exceed critical");
        }
    }

    private static void ordered(List<String> problems, String check, long warning, long critical) {
        if (warning > critical) {
            problems.add("pgvigil.checks." + check + ".warning=" + warning + " is above pgvigil.checks." + check
                    + ".critical=" + critical + ": warning must not exceed critical");
        }
    }

    private static void ordered(List<String> problems, String check, double warning, double critical) {
        if (warning > critical) {
            problems.add("pgvigil.checks." + check + ".warning=" + warning + " is above pgvigil.checks." + check
                    + ".critical=" + critical + ": warning must not exceed critical");
        }
    }
}
