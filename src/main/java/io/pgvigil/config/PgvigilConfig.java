package io.pgvigil.config;

import java.time.Duration;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * All of pgvigil's configuration, under the {@code pgvigil} prefix. Every key can also be set as an
 * environment variable ({@code pgvigil.target.url} is {@code PGVIGIL_TARGET_URL}). Durations take
 * Quarkus' format: {@code 15s}, {@code 5m}, {@code PT1M}. {@link ConfigCheck} rejects values that
 * make no sense and names the key.
 */
@ConfigMapping(prefix = "pgvigil")
public interface PgvigilConfig {

    /** How often the target is polled. At least 1s. */
    @WithDefault("15s")
    Duration interval();

    /** The PostgreSQL server being watched. */
    Target target();

    /** Thresholds of every check. */
    Checks checks();

    /** Limits on the findings that are published. */
    Findings findings();

    interface Target {
        /**
         * JDBC URL of the target, e.g. {@code jdbc:postgresql://localhost:5432/postgres}. Required
         * outside dev mode; in dev mode an embedded demo server is started when it is missing.
         */
        Optional<String> url();

        /** Role to log in as; it needs {@code pg_monitor} and nothing more. */
        Optional<String> username();

        /** Password, if the role needs one. Prefer {@link #passwordFile()}. */
        Optional<String> password();

        /**
         * File holding the password (a mounted Kubernetes Secret). Re-read each time a connection is
         * opened, so a rotated secret is picked up without a restart. Trailing newlines are ignored.
         */
        Optional<String> passwordFile();

        /** Most connections pgvigil ever holds open to the target at once. */
        @WithDefault("1")
        int maxConnections();

        /** {@code statement_timeout} of pgvigil's sessions: no monitoring query runs longer. */
        @WithDefault("5s")
        Duration statementTimeout();

        /** {@code lock_timeout} of pgvigil's sessions: a monitoring query never queues behind a lock for longer. */
        @WithDefault("1s")
        Duration lockTimeout();

        /** Time allowed to open a connection (TCP connect and login). Whole seconds, at least 1s. */
        @WithDefault("5s")
        Duration connectTimeout();
    }

    interface Checks {
        /** {@code pool_saturation}: client backends over usable connection slots. */
        PoolSaturation poolSaturation();

        /** {@code rollback_rate}: rolled-back share of a database's transactions in the interval. */
        RollbackRate rollbackRate();

        /** {@code long_transaction}: age of the oldest open transaction. */
        LongTransaction longTransaction();
    }

    interface PoolSaturation {
        /** Whether the check runs. */
        @WithDefault("true")
        boolean enabled();

        /** Ratio (0-1) at which a warning opens. */
        @WithDefault("0.80")
        double warning();

        /** Ratio (0-1) at which the finding becomes critical. */
        @WithDefault("0.90")
        double critical();
    }

    interface RollbackRate {
        /** Whether the check runs. */
        @WithDefault("true")
        boolean enabled();

        /** Ratio (0-1) at which a warning opens. */
        @WithDefault("0.10")
        double warning();

        /** Ratio (0-1) at which the finding becomes critical. */
        @WithDefault("0.25")
        double critical();

        /** Fewest transactions (commits + rollbacks) in an interval for a database to be judged. */
        @WithDefault("20")
        long minTransactions();
    }

    interface LongTransaction {
        /** Whether the check runs. */
        @WithDefault("true")
        boolean enabled();

        /** Transaction age at which a warning opens. */
        @WithDefault("60s")
        Duration warning();

        /** Transaction age at which the finding becomes critical. */
        @WithDefault("300s")
        Duration critical();
    }

    interface Findings {
        /** Most open findings published at once (most severe, then oldest, first); the rest are counted. */
        @WithDefault("1000")
        int max();
    }
}
