package io.pgvigil.config;

import java.time.Duration;
import java.util.Optional;

import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Min;

import org.hibernate.validator.constraints.time.DurationMin;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * All of pgvigil's configuration, under the {@code pgvigil} prefix. Every key can also be set as an
 * environment variable ({@code pgvigil.target.url} is {@code PGVIGIL_TARGET_URL}). Durations take
 * Quarkus' format: {@code 15s}, {@code 5m}, {@code PT1M}. The constraint annotations on single keys
 * are checked by Quarkus when it reads the configuration (SmallRye Config's Bean Validation), before
 * anything starts; {@link ConfigCheck} adds the rules that span keys or read files. Either way the
 * message names the key, the value and what is allowed.
 */
@ConfigMapping(prefix = "pgvigil")
public interface PgvigilConfig {

    /** How often the target is polled. At least 1s. */
    @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
    @WithDefault("15s")
    Duration interval();

    /** The PostgreSQL server being watched. */
    Target target();

    /** Optionally, a PgBouncer in front of the target, watched through its admin console. */
    PgBouncer pgbouncer();

    /** Thresholds of every check. */
    Checks checks();

    /** Limits on the findings that are published. */
    Findings findings();

    /** Who may read the REST API ({@code /api/*}), which can show query text. */
    Access api();

    /** Who may read {@code /metrics}. Health endpoints are never protected. */
    Access metrics();

    interface Access {
        /**
         * A bearer token required in {@code Authorization: Bearer <token>}; unset, no token is
         * required. Prefer {@link #tokenFile()}.
         */
        Optional<@TokenLength(min = 16) String> token();

        /** File holding the token (a mounted Secret); re-read when it changes. Trailing newlines are ignored. */
        Optional<String> tokenFile();
    }

    /** The pg_stat_statements collector. */
    Statements statements();

    /** Which databases of the server are visited for their index and table statistics. */
    Databases databases();

    /** Visits to every database for index and table statistics. */
    Indexes indexes();

    /** Generic plans of the statements that findings point at (opt-in). */
    Plans plans();

    interface Plans {
        /**
         * Whether pgvigil obtains generic plans (never executing anything) of the statements that
         * findings point at. The role then needs to read the tables: pg_read_all_data (14+) or SELECT grants.
         */
        @WithDefault("false")
        boolean enabled();

        /** Most statements planned in each database per visit round. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("3")
        int perRound();

        /** A statement is planned again at most this often (sooner when its mean time doubles or halves). */
        @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
        @WithDefault("10m")
        Duration refresh();

        /** statement_timeout and lock_timeout of each planning. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("2s")
        Duration timeout();
    }

    interface Databases {
        /**
         * Databases to visit, as patterns ({@code *} any characters, {@code ?} one character, matched
         * against the whole name). Default: every database that accepts connections.
         */
        @WithDefault("*")
        java.util.List<String> include();

        /** Databases never visited even when included (same pattern syntax). */
        Optional<java.util.List<String>> exclude();
    }

    interface Indexes {
        /** Whether pgvigil visits databases for index and table statistics at all. */
        @WithDefault("true")
        boolean enabled();

        /** How often each database is visited. Catalog scans are heavier than a poll, so slower. */
        @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
        @WithDefault("60s")
        Duration interval();
    }

    interface Statements {
        /** Statements with their own series: the top N of the interval by total execution time. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("50")
        int top();

        /** Query texts are cut to this many characters. */
        @Min(value = 64, message = Allowed.AT_LEAST)
        @WithDefault("4096")
        int textMaxLength();

        /** Most query texts kept in memory (least recently used go first). */
        @Min(value = 100, message = Allowed.AT_LEAST)
        @WithDefault("10000")
        int textCacheSize();
    }

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
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("1")
        int maxConnections();

        /** {@code statement_timeout} of pgvigil's sessions: no monitoring query runs longer. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("5s")
        Duration statementTimeout();

        /** {@code lock_timeout} of pgvigil's sessions: a monitoring query never queues behind a lock for longer. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("1s")
        Duration lockTimeout();

        /** Time allowed to open a connection (TCP connect and login). Whole seconds, at least 1s. */
        @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
        @WithDefault("5s")
        Duration connectTimeout();
    }

    /**
     * A PgBouncer watched through its admin console (the virtual {@code pgbouncer} database), in the
     * same poll as the target and with the target's connect and statement timeouts. Unset
     * {@code url}: no PgBouncer is watched.
     */
    interface PgBouncer {
        /**
         * Where PgBouncer listens: {@code postgresql://host:port} (port 6432 when left out; a path, if
         * any, must be {@code /pgbouncer}; a {@code jdbc:} prefix is accepted).
         */
        Optional<String> url();

        /** The value of the {@code pgbouncer} label and the first part of finding subjects; default {@code host:port}. */
        Optional<String> name();

        /** A user listed in PgBouncer's {@code stats_users} (not {@code admin_users}): read-only SHOW commands. */
        Optional<String> username();

        /** Its password, if PgBouncer asks for one. Prefer {@link #passwordFile()}. */
        Optional<String> password();

        /** File holding the password (a mounted Secret), re-read at each connect. Trailing newlines are ignored. */
        Optional<String> passwordFile();
    }

    /**
     * One group per check, named in kebab-case explicitly: SmallRye's Bean Validation names a group by
     * its raw method name in refusal messages ({@code pgvigil.checks.rollbackRate.warning}) unless
     * {@code @WithName} gives it (ConfigKeysTest fails on a group without one).
     */
    interface Checks {
        /** {@code pool_saturation}: client backends over usable connection slots. */
        @WithName("pool-saturation")
        PoolSaturation poolSaturation();

        /** {@code rollback_rate}: rolled-back share of a database's transactions in the interval. */
        @WithName("rollback-rate")
        RollbackRate rollbackRate();

        /** {@code long_transaction}: age of the oldest open transaction. */
        @WithName("long-transaction")
        LongTransaction longTransaction();

        /** {@code slow_query}: a statement's mean execution time in the interval. */
        @WithName("slow-query")
        SlowQuery slowQuery();

        /** {@code n_plus_one}: a statement executed once per row of another. */
        @WithName("n-plus-one")
        NPlusOne nPlusOne();

        /** {@code query_regression}: a statement's interval mean against its own baseline. */
        @WithName("query-regression")
        QueryRegression queryRegression();

        /** {@code temp_spill}: temporary bytes a statement wrote in the interval. */
        @WithName("temp-spill")
        TempSpill tempSpill();

        /** {@code replication_slot}: WAL retained by an inactive replication slot. */
        @WithName("replication-slot")
        ReplicationSlot replicationSlot();

        /** {@code replication_lag}: how far a standby is behind. */
        @WithName("replication-lag")
        ReplicationLag replicationLag();

        /** {@code index_hit_rate}: index blocks found in shared buffers, per database per visit interval. */
        @WithName("index-hit-rate")
        IndexHitRate indexHitRate();

        /** {@code unused_index}: an index with no scans over the observation window. */
        @WithName("unused-index")
        UnusedIndex unusedIndex();

        /** {@code duplicate_index}: an index made redundant by another on the same table. */
        @WithName("duplicate-index")
        Toggle duplicateIndex();

        /** {@code invalid_index}: an index left invalid by a failed CREATE INDEX CONCURRENTLY. */
        @WithName("invalid-index")
        Toggle invalidIndex();

        /** {@code seq_scan_heavy}: a large table read mostly by sequential scans. */
        @WithName("seq-scan-heavy")
        SeqScanHeavy seqScanHeavy();

        /** {@code lock_wait}: the longest wait for a heavyweight lock, with the session at the head of the chain. */
        @WithName("lock-wait")
        LockWait lockWait();

        /** {@code xid_wraparound}: a database's oldest unfrozen transaction ID (or MultiXact) age against 2^31. */
        @WithName("xid-wraparound")
        XidWraparound xidWraparound();

        /** {@code xmin_horizon}: how far behind the current transaction the oldest xmin that vacuum must respect is. */
        @WithName("xmin-horizon")
        XminHorizon xminHorizon();

        /** {@code vacuum_lag}: a table's dead tuples against its own autovacuum trigger. */
        @WithName("vacuum-lag")
        VacuumLag vacuumLag();

        /** {@code checkpoint_pressure}: share of the recent checkpoints that WAL volume forced. */
        @WithName("checkpoint-pressure")
        CheckpointPressure checkpointPressure();

        /** {@code pooler_saturation}: the longest time a client has waited for a server connection in a PgBouncer pool. */
        @WithName("pooler-saturation")
        PoolerSaturation poolerSaturation();
    }

    interface PoolerSaturation extends CheckConfig {
        /** Longest client wait in a pool at which a warning opens. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("1s")
        Duration warning();

        /** Longest client wait in a pool at which the finding becomes critical. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("5s")
        Duration critical();
    }

    interface LockWait extends CheckConfig {
        /** Longest lock wait at which a warning opens. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("10s")
        Duration warning();

        /** Longest lock wait at which the finding becomes critical. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("60s")
        Duration critical();
    }

    interface XidWraparound extends CheckConfig {
        /** Age as a fraction (0-1) of the 2^31 limit at which a warning opens. */
        @Ratio
        @WithDefault("0.5")
        double warning();

        /** Age as a fraction (0-1) of the 2^31 limit at which the finding becomes critical. */
        @Ratio
        @WithDefault("0.75")
        double critical();
    }

    interface XminHorizon extends CheckConfig {
        /** Transactions the horizon is behind at which a warning opens. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("50000000")
        long warning();

        /**
         * Transactions the horizon is behind at which the finding becomes critical; unset, the
         * server's own {@code autovacuum_freeze_max_age} (from there on autovacuum runs to prevent
         * wraparound and cannot freeze past the horizon).
         */
        java.util.OptionalLong critical();
    }

    interface VacuumLag extends CheckConfig {
        /** Dead tuples as a multiple of the table's own autovacuum trigger at which a warning opens. */
        @DecimalMin(value = "1", message = Allowed.AT_LEAST)
        @WithDefault("2")
        double warning();

        /** Fewest dead tuples for a table to be judged (small tables vacuum in a blink). */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("10000")
        long minDeadTuples();
    }

    interface CheckpointPressure extends CheckConfig {
        /** Share (0-1) of the window's checkpoints that were requested (WAL volume) at which a warning opens. */
        @Ratio
        @WithDefault("0.5")
        double warning();

        /** Fewest checkpoints in the window for it to be judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("3")
        int minCheckpoints();

        /** How far back the checkpoints are counted. */
        @DurationMin(minutes = 1, message = Allowed.AT_LEAST_1MIN)
        @WithDefault("1h")
        Duration window();
    }

    /** A check with nothing to set but what every check has. */
    interface Toggle extends CheckConfig {
    }

    /**
     * What every check's configuration has. A finding opens as soon as a value crosses a threshold;
     * it clears (or steps down from critical to warning) only when the value is back inside the
     * threshold by {@code clear-margin}, or after {@code clear-after} consecutive intervals back
     * inside it at all, so that a value hovering at a threshold does not open and clear every poll.
     */
    interface CheckConfig {
        /** Whether the check runs. */
        @WithDefault("true")
        boolean enabled();

        /**
         * Share of the threshold (0-1) a value must be back inside by for its finding to clear at once:
         * 0.1 clears a 0.10 rollback-rate warning at 0.09. For thresholds where lower is worse and the
         * value is a ratio (index_hit_rate), the share of the distance to 1: 0.99 clears at 0.991.
         */
        @DecimalMin(value = "0", message = Allowed.CLEAR_MARGIN)
        @DecimalMax(value = "1", inclusive = false, message = Allowed.CLEAR_MARGIN)
        @WithDefault("0.1")
        double clearMargin();

        /** Consecutive intervals back inside the threshold (by any margin) after which a finding clears anyway. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("3")
        int clearAfter();
    }

    interface IndexHitRate extends CheckConfig {
        /** Hit ratio (0-1) below which a warning opens. */
        @Ratio
        @WithDefault("0.99")
        double warning();

        /** Hit ratio (0-1) below which the finding becomes critical. */
        @Ratio
        @WithDefault("0.95")
        double critical();

        /** Fewest index block accesses (hit + read) in an interval for a database to be judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("1000")
        long minBlockAccesses();
    }

    interface UnusedIndex extends CheckConfig {
        /** How long an index must go without a scan to be reported. */
        @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
        @WithDefault("7d")
        Duration window();
    }

    interface SeqScanHeavy extends CheckConfig {
        /** Share (0-1) of a table's scans in the interval that are sequential at which a warning opens. */
        @Ratio
        @WithDefault("0.5")
        double warning();

        /** A table is judged when it has at least this many live rows ... */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("10000")
        long minRows();

        /** ... or is at least this large. */
        @MinBytes(1)
        @WithDefault("10M")
        io.quarkus.runtime.configuration.MemorySize minSize();

        /** Fewest sequential scans in an interval for a table to be judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("5")
        long minScans();

        /** Fewest rows a sequential scan must read on average to count as heavy. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("1000")
        long minRowsPerScan();
    }

    interface ReplicationLag extends CheckConfig {
        /** Replay delay at which a warning opens. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("5s")
        Duration warning();

        /** Replay delay at which the finding becomes critical. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("30s")
        Duration critical();

        /** Optionally, WAL not yet replayed at which a warning opens (whichever of time and bytes is worse counts). */
        Optional<io.quarkus.runtime.configuration.@MinBytes(1) MemorySize> warningBytes();

        /** Optionally, WAL not yet replayed at which the finding becomes critical. */
        Optional<io.quarkus.runtime.configuration.@MinBytes(1) MemorySize> criticalBytes();
    }

    interface ReplicationSlot extends CheckConfig {
        /** WAL retained by an inactive slot at which a warning opens. */
        @MinBytes(1)
        @WithDefault("1G")
        io.quarkus.runtime.configuration.MemorySize warning();

        /** WAL retained by an inactive slot at which the finding becomes critical. */
        @MinBytes(1)
        @WithDefault("10G")
        io.quarkus.runtime.configuration.MemorySize critical();
    }

    interface SlowQuery extends CheckConfig {
        /** Mean execution time at which a warning opens. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("100ms")
        Duration warning();

        /** Mean execution time at which the finding becomes critical. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("1s")
        Duration critical();

        /** Fewest calls in an interval for a statement to be judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("1")
        long minCalls();
    }

    interface NPlusOne extends CheckConfig {
        /**
         * How much recent history a pair is judged over: a slow endpoint's loop straddles several
         * polls and adds up here. Stretched to eight polls when pgvigil.interval is longer than an
         * eighth of it (2 minutes at 15 s): timing is evidence only over enough intervals.
         */
        @DurationMin(seconds = 1, message = Allowed.AT_LEAST_1S)
        @WithDefault("1m")
        Duration window();

        /** Fewest child calls in the window for the pattern to count. */
        @Min(value = 2, message = Allowed.AT_LEAST)
        @WithDefault("20")
        long minCalls();

        /** Fewest child calls per parent call (the fan-out) for a loop to count. */
        @DecimalMin(value = "2", message = Allowed.FROM_2)
        @WithDefault("3")
        double minFanOut();

        /** Lowest child calls / parent rows of a one-to-many child ("once per row"). */
        @DecimalMin(value = "0", inclusive = false, message = Allowed.ABOVE_0_AT_MOST_1)
        @DecimalMax(value = "1", message = Allowed.ABOVE_0_AT_MOST_1)
        @WithDefault("0.8")
        double ratioMin();

        /**
         * Lowest child calls / parent rows of a lookup child (at most one row per call): an ORM's
         * identity map fetches each distinct key once, so a lazy many-to-one runs well below once per row.
         */
        @DecimalMin(value = "0", inclusive = false, message = Allowed.ABOVE_0_AT_MOST_1)
        @DecimalMax(value = "1", message = Allowed.ABOVE_0_AT_MOST_1)
        @WithDefault("0.1")
        double lookupRatioMin();

        /** Highest child calls / parent rows of any child (a loop runs at most once per row, plus timing jitter). */
        @DecimalMin(value = "1", message = Allowed.FROM_1_TO_BELOW_100)
        @DecimalMax(value = "100", inclusive = false, message = Allowed.FROM_1_TO_BELOW_100)
        @WithDefault("1.25")
        double ratioMax();

        /** Avoidable round trips per second (child calls − parent calls, over the window) at which a warning opens. */
        @DecimalMin(value = "0", inclusive = false, message = Allowed.ABOVE_0)
        @WithDefault("0.1")
        double warning();

        /** Avoidable round trips per second at which the finding becomes critical. */
        @DecimalMin(value = "0", inclusive = false, message = Allowed.ABOVE_0)
        @WithDefault("50")
        double critical();
    }

    interface QueryRegression extends CheckConfig {
        /** Interval mean over baseline at which a warning opens. */
        @DecimalMin(value = "1", inclusive = false, message = Allowed.MULTIPLE_ABOVE_1)
        @WithDefault("3")
        double warning();

        /** Interval mean over baseline at which the finding becomes critical. */
        @DecimalMin(value = "1", inclusive = false, message = Allowed.MULTIPLE_ABOVE_1)
        @WithDefault("10")
        double critical();

        /** Statements whose interval mean is below this are not judged. */
        @DurationMin(message = Allowed.NOT_NEGATIVE)
        @WithDefault("10ms")
        Duration minMean();

        /** Fewest calls in an interval for it to be judged or to count towards the baseline. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("5")
        long minCalls();

        /** Windows that must make up a baseline before a statement is judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("3")
        int baselineWindows();
    }

    interface TempSpill extends CheckConfig {
        /** Temporary bytes written by one statement in an interval at which a warning opens. */
        @MinBytes(1)
        @WithDefault("10M")
        io.quarkus.runtime.configuration.MemorySize warning();

        /** Temporary bytes at which the finding becomes critical. */
        @MinBytes(1)
        @WithDefault("1G")
        io.quarkus.runtime.configuration.MemorySize critical();
    }

    interface PoolSaturation extends CheckConfig {
        /** Ratio (0-1) at which a warning opens. */
        @Ratio
        @WithDefault("0.80")
        double warning();

        /** Ratio (0-1) at which the finding becomes critical. */
        @Ratio
        @WithDefault("0.90")
        double critical();
    }

    interface RollbackRate extends CheckConfig {
        /** Ratio (0-1) at which a warning opens. */
        @Ratio
        @WithDefault("0.10")
        double warning();

        /** Ratio (0-1) at which the finding becomes critical. */
        @Ratio
        @WithDefault("0.25")
        double critical();

        /** Fewest transactions (commits + rollbacks) in an interval for a database to be judged. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("20")
        long minTransactions();
    }

    interface LongTransaction extends CheckConfig {
        /** Transaction age at which a warning opens. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("60s")
        Duration warning();

        /** Transaction age at which the finding becomes critical. */
        @DurationMin(millis = 1, message = Allowed.AT_LEAST_1MS)
        @WithDefault("300s")
        Duration critical();
    }

    interface Findings {
        /** Most open findings published at once (most severe, then oldest, first); the rest are counted. */
        @Min(value = 1, message = Allowed.AT_LEAST)
        @WithDefault("1000")
        int max();
    }
}
