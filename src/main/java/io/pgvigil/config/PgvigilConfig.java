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

    /** Who may read the REST API ({@code /api/*}), which can show query text. */
    Access api();

    /** Who may read {@code /metrics}. Health endpoints are never protected. */
    Access metrics();

    interface Access {
        /**
         * A bearer token required in {@code Authorization: Bearer <token>}; unset, no token is
         * required. Prefer {@link #tokenFile()}.
         */
        Optional<String> token();

        /** File holding the token (a mounted Secret); re-read when it changes. Trailing newlines are ignored. */
        Optional<String> tokenFile();
    }

    /** The pg_stat_statements collector. */
    Statements statements();

    /** Which databases of the server are visited for their index and table statistics. */
    Databases databases();

    /** Visits to every database for index and table statistics. */
    Indexes indexes();

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
        @WithDefault("60s")
        Duration interval();
    }

    interface Statements {
        /** Statements with their own series: the top N of the interval by total execution time. */
        @WithDefault("50")
        int top();

        /** Query texts are cut to this many characters. */
        @WithDefault("4096")
        int textMaxLength();

        /** Most query texts kept in memory (least recently used go first). */
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

        /** {@code slow_query}: a statement's mean execution time in the interval. */
        SlowQuery slowQuery();

        /** {@code n_plus_one}: a statement executed once per row of another. */
        NPlusOne nPlusOne();

        /** {@code query_regression}: a statement's interval mean against its own baseline. */
        QueryRegression queryRegression();

        /** {@code temp_spill}: temporary bytes a statement wrote in the interval. */
        TempSpill tempSpill();

        /** {@code replication_slot}: WAL retained by an inactive replication slot. */
        ReplicationSlot replicationSlot();

        /** {@code replication_lag}: how far a standby is behind. */
        ReplicationLag replicationLag();

        /** {@code index_hit_rate}: index blocks found in shared buffers, per database per visit interval. */
        IndexHitRate indexHitRate();

        /** {@code unused_index}: an index with no scans over the observation window. */
        UnusedIndex unusedIndex();

        /** {@code duplicate_index}: an index made redundant by another on the same table. */
        Toggle duplicateIndex();

        /** {@code invalid_index}: an index left invalid by a failed CREATE INDEX CONCURRENTLY. */
        Toggle invalidIndex();

        /** {@code seq_scan_heavy}: a large table read mostly by sequential scans. */
        SeqScanHeavy seqScanHeavy();
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
        @WithDefault("0.1")
        double clearMargin();

        /** Consecutive intervals back inside the threshold (by any margin) after which a finding clears anyway. */
        @WithDefault("3")
        int clearAfter();
    }

    interface IndexHitRate extends CheckConfig {
        /** Hit ratio (0-1) below which a warning opens. */
        @WithDefault("0.99")
        double warning();

        /** Hit ratio (0-1) below which the finding becomes critical. */
        @WithDefault("0.95")
        double critical();

        /** Fewest index block accesses (hit + read) in an interval for a database to be judged. */
        @WithDefault("1000")
        long minBlockAccesses();
    }

    interface UnusedIndex extends CheckConfig {
        /** How long an index must go without a scan to be reported. */
        @WithDefault("7d")
        Duration window();
    }

    interface SeqScanHeavy extends CheckConfig {
        /** Share (0-1) of a table's scans in the interval that are sequential at which a warning opens. */
        @WithDefault("0.5")
        double warning();

        /** A table is judged when it has at least this many live rows ... */
        @WithDefault("10000")
        long minRows();

        /** ... or is at least this large. */
        @WithDefault("10M")
        io.quarkus.runtime.configuration.MemorySize minSize();

        /** Fewest sequential scans in an interval for a table to be judged. */
        @WithDefault("5")
        long minScans();

        /** Fewest rows a sequential scan must read on average to count as heavy. */
        @WithDefault("1000")
        long minRowsPerScan();
    }

    interface ReplicationLag extends CheckConfig {
        /** Replay delay at which a warning opens. */
        @WithDefault("5s")
        Duration warning();

        /** Replay delay at which the finding becomes critical. */
        @WithDefault("30s")
        Duration critical();

        /** Optionally, WAL not yet replayed at which a warning opens (whichever of time and bytes is worse counts). */
        Optional<io.quarkus.runtime.configuration.MemorySize> warningBytes();

        /** Optionally, WAL not yet replayed at which the finding becomes critical. */
        Optional<io.quarkus.runtime.configuration.MemorySize> criticalBytes();
    }

    interface ReplicationSlot extends CheckConfig {
        /** WAL retained by an inactive slot at which a warning opens. */
        @WithDefault("1G")
        io.quarkus.runtime.configuration.MemorySize warning();

        /** WAL retained by an inactive slot at which the finding becomes critical. */
        @WithDefault("10G")
        io.quarkus.runtime.configuration.MemorySize critical();
    }

    interface SlowQuery extends CheckConfig {
        /** Mean execution time at which a warning opens. */
        @WithDefault("100ms")
        Duration warning();

        /** Mean execution time at which the finding becomes critical. */
        @WithDefault("1s")
        Duration critical();

        /** Fewest calls in an interval for a statement to be judged. */
        @WithDefault("1")
        long minCalls();
    }

    interface NPlusOne extends CheckConfig {
        /** Fewest child calls in an interval for the pattern to count. */
        @WithDefault("100")
        long minCalls();

        /** Lowest child calls / parent rows ratio that counts as "once per row". */
        @WithDefault("0.8")
        double ratioMin();

        /** Highest child calls / parent rows ratio that counts as "once per row". */
        @WithDefault("1.25")
        double ratioMax();

        /** Consecutive windows with the pattern after which the finding is critical. */
        @WithDefault("3")
        int criticalWindows();
    }

    interface QueryRegression extends CheckConfig {
        /** Interval mean over baseline at which a warning opens. */
        @WithDefault("3")
        double warning();

        /** Interval mean over baseline at which the finding becomes critical. */
        @WithDefault("10")
        double critical();

        /** Statements whose interval mean is below this are not judged. */
        @WithDefault("10ms")
        Duration minMean();

        /** Fewest calls in an interval for it to be judged or to count towards the baseline. */
        @WithDefault("5")
        long minCalls();

        /** Windows that must make up a baseline before a statement is judged. */
        @WithDefault("3")
        int baselineWindows();
    }

    interface TempSpill extends CheckConfig {
        /** Temporary bytes written by one statement in an interval at which a warning opens. */
        @WithDefault("10M")
        io.quarkus.runtime.configuration.MemorySize warning();

        /** Temporary bytes at which the finding becomes critical. */
        @WithDefault("1G")
        io.quarkus.runtime.configuration.MemorySize critical();
    }

    interface PoolSaturation extends CheckConfig {
        /** Ratio (0-1) at which a warning opens. */
        @WithDefault("0.80")
        double warning();

        /** Ratio (0-1) at which the finding becomes critical. */
        @WithDefault("0.90")
        double critical();
    }

    interface RollbackRate extends CheckConfig {
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

    interface LongTransaction extends CheckConfig {
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
