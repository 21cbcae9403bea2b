package io.pgvigil.testing;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.pgvigil.config.PgvigilConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.validator.BeanValidationConfigValidatorImpl;

/**
 * The real {@link PgvigilConfig} mapping, built from properties outside Quarkus, with Quarkus' duration
 * and size formats and its validation: a value that breaks a constraint annotation of the mapping makes
 * {@link #of} throw {@code io.smallrye.config.ConfigValidationException}, whose problems read as Quarkus
 * prints them at start-up ({@code pgvigil.interval is PT0.5S: must be at least 1s ...}).
 */
public final class TestConfig {

    /** Hibernate Validator, as quarkus-hibernate-validator gives SmallRye Config; built once (it is slow to build). */
    private static final BeanValidationConfigValidatorImpl VALIDATOR = new BeanValidationConfigValidatorImpl();

    private TestConfig() {
    }

    public static PgvigilConfig of(Map<String, String> properties) {
        return raw(properties).getConfigMapping(PgvigilConfig.class);
    }

    /** The configuration itself, for rules on raw values ({@code ConfigCheck.rawProblems}). */
    public static SmallRyeConfig raw(Map<String, String> properties) {
        return builder().withSources(new PropertiesConfigSource(properties, "test", 400)).build();
    }

    /** The mapping with Quarkus' converters and validation, for configuration from other sources (add them). */
    public static SmallRyeConfigBuilder builder() {
        return new SmallRyeConfigBuilder()
                .withMapping(PgvigilConfig.class)
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(io.quarkus.runtime.configuration.MemorySize.class, 200,
                        new io.quarkus.runtime.configuration.MemorySizeConverter())
                .withValidator(VALIDATOR);
    }

    /** Configuration that makes pgvigil watch {@code server} as the pg_monitor role, plus overrides. */
    public static PgvigilConfig forServer(PgServer server, String... keyValues) {
        Map<String, String> props = new HashMap<>();
        props.put("pgvigil.target.url", server.jdbcUrl("postgres"));
        props.put("pgvigil.target.username", PgServer.MONITOR_ROLE);
        props.put("pgvigil.target.password", PgServer.MONITOR_PASSWORD);
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], keyValues[i + 1]);
        }
        if (props.containsKey("pgvigil.target.password-file")) {
            props.remove("pgvigil.target.password");
        }
        return of(props);
    }
}
