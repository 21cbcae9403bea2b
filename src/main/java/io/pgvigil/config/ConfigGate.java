package io.pgvigil.config;

import java.util.List;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;

import io.pgvigil.target.EmbeddedTarget;
import io.quarkus.runtime.StartupEvent;

/**
 * Stops start-up, before the first poll, when the configuration breaks a {@link ConfigCheck} rule.
 * Values that break a constraint annotation of {@link PgvigilConfig} never get here: Quarkus refuses them
 * earlier, while it maps the configuration ({@code Configuration validation failed:} followed by one line
 * per key), so a configuration with both kinds of mistake is refused twice, annotations first.
 */
@ApplicationScoped
public class ConfigGate {

    void onStart(@Observes @Priority(1) StartupEvent event, PgvigilConfig config, Instance<EmbeddedTarget> embedded) {
        List<String> problems = new java.util.ArrayList<>(ConfigCheck.problems(config, !embedded.isResolvable()));
        problems.addAll(ConfigCheck.rawProblems(org.eclipse.microprofile.config.ConfigProvider.getConfig()));
        if (!problems.isEmpty()) {
            throw new InvalidConfigException(problems);
        }
    }

    /** Thrown at start-up; its message lists every problem, one per line. */
    public static final class InvalidConfigException extends RuntimeException {
        InvalidConfigException(List<String> problems) {
            super("Invalid pgvigil configuration:\n  - " + String.join("\n  - ", problems));
        }
    }
}
