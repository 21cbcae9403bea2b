package io.pgvigil.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToLongFunction;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.pgvigil.core.Catalog;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.activity.SettingsCollector.ConnectionSettings;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.replication.WalReceiverCollector.Receiver;
import io.pgvigil.core.Snapshot;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.databases.StatDatabaseCollector.Database;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.relations.RelationWindow;
import io.pgvigil.relations.Relations;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Window.DatabaseDelta;
import io.pgvigil.relations.RelationFindings;

/**
 * Publishes each {@link PollState} as Prometheus series (through Micrometer, served at /metrics).
 * Values are copied in when a poll ends; a scrape reads them and never touches the database.
 * Series whose data is gone (a failed collector, a dropped database, a cleared finding) are removed.
 * Every name here is listed in docs/metrics.md; a test keeps the two equal.
 *
 * <pre>
 * pg_up 1.0
 * pg_connections{datname="shop",state="idle in transaction"} 3.0
 * pg_stat_database_xact_rollback_total{datname="shop"} 1204.0
 * pgvigil_breach{check="rollback_rate",severity="critical",subject="shop"} 1.0
 * </pre>
 */
@ApplicationScoped
public class MetricsPublisher {

    public static final String PG_UP = "pg_up";
    public static final String PG_IN_RECOVERY = "pg_in_recovery";
    public static final String PG_SERVER_VERSION_NUM = "pg_server_version_num";
    public static final String PG_POSTMASTER_START_TIME = "pg_postmaster_start_time_seconds";
    public static final String PG_CONNECTIONS = "pg_connections";
    public static final String PG_CONNECTIONS_WAITING_ON_LOCK = "pg_connections_waiting_on_lock";
    public static final String PG_OLDEST_TRANSACTION_AGE = "pg_oldest_transaction_age_seconds";
    public static final String PG_OLDEST_IDLE_IN_TRANSACTION = "pg_oldest_idle_in_transaction_seconds";
    public static final String PG_MAX_CONNECTIONS = "pg_settings_max_connections";
    public static final String PG_SUPERUSER_RESERVED = "pg_settings_superuser_reserved_connections";
    public static final String PG_RESERVED = "pg_settings_reserved_connections";
    public static final String PG_SLOTS_USABLE = "pg_connection_slots_usable";
    /** Counter prefix; Prometheus names end in _total (e.g. pg_stat_database_xact_commit_total). */
    public static final String PG_STAT_DATABASE = "pg_stat_database_";
    public static final String PG_ROLLBACK_RATIO = "pg_stat_database_rollback_ratio";
    public static final String PG_BLKS_HIT_RATIO = "pg_stat_database_blks_hit_ratio";
    public static final String COLLECTOR_ENABLED = "pgvigil_collector_enabled";
    public static final String COLLECTOR_SUCCESS = "pgvigil_collector_success";
    public static final String COLLECTOR_DURATION = "pgvigil_collector_duration_seconds";
    public static final String LAST_POLL = "pgvigil_last_poll_timestamp_seconds";
    public static final String POLL_DURATION = "pgvigil_poll_duration_seconds";
    public static final String POLL_INTERVAL = "pgvigil_poll_interval_seconds";
    /** Counter; exposed as pgvigil_polls_total{result="success"|"failure"}. */
    public static final String POLLS = "pgvigil_polls";
    public static final String BREACH = "pgvigil_breach";
    public static final String CHECK_VALUE = "pgvigil_check_value";
    public static final String CHECK_THRESHOLD = "pgvigil_check_threshold";
    public static final String FINDINGS_SUPPRESSED = "pgvigil_findings_suppressed";
    /** Top-N statement counters (Prometheus names end in _total). */
    public static final String STATEMENT_CALLS = "pg_stat_statements_calls";
    public static final String STATEMENT_EXEC_SECONDS = "pg_stat_statements_exec_seconds";
    public static final String STATEMENT_ROWS = "pg_stat_statements_rows";
    public static final String STATEMENT_TEMP_BYTES = "pg_stat_statements_temp_bytes";
    public static final String STATEMENT_MEAN = "pg_stat_statements_mean_exec_seconds";
    public static final String STATEMENT_DB_CALLS = "pg_stat_statements_database_calls";
    public static final String STATEMENT_DB_EXEC_SECONDS = "pg_stat_statements_database_exec_seconds";
    public static final String STATEMENT_ENTRIES = "pg_stat_statements_entries";
    public static final String STATEMENT_DEALLOCATIONS = "pg_stat_statements_deallocations";
    public static final String STATEMENTS_OUTSIDE_TOP = "pgvigil_statements_outside_top";
    public static final String STATEMENT_TEXT_FETCHES = "pgvigil_statement_text_fetches";
    public static final String STANDBY_LAG_BYTES = "pg_replication_standby_lag_bytes";
    public static final String STANDBY_LAG_SECONDS = "pg_replication_standby_lag_seconds";
    public static final String STANDBY_INFO = "pg_replication_standby_info";
    public static final String STANDBY_SELF_RECEIVED = "pg_standby_received_wal_position_bytes";
    public static final String STANDBY_SELF_REPLAYED = "pg_standby_replayed_wal_position_bytes";
    public static final String STANDBY_SELF_REPLAY_LAG_BYTES = "pg_standby_replay_lag_bytes";
    public static final String STANDBY_SELF_REPLAY_LAG_SECONDS = "pg_standby_replay_lag_seconds";
    public static final String STANDBY_SELF_STREAMING = "pg_standby_wal_receiver_streaming";
    public static final String STANDBY_SELF_LAST_MESSAGE = "pg_standby_last_message_age_seconds";
    public static final String STANDBY_SELF_RECEIVER_STATUS = "pg_standby_wal_receiver_status";
    public static final String SLOT_ACTIVE = "pg_replication_slot_active";
    public static final String SLOT_RETAINED = "pg_replication_slot_retained_wal_bytes";
    public static final String SLOT_SAFE_WAL = "pg_replication_slot_safe_wal_size_bytes";
    public static final String SLOT_WAL_STATUS = "pg_replication_slot_wal_status";

    public static final String DB_INDEX_HIT_RATIO = "pg_database_index_hit_ratio";
    public static final String DB_INDEXES = "pg_database_indexes";
    public static final String DB_INDEXES_BYTES = "pg_database_indexes_bytes";
    public static final String DB_TABLES = "pg_database_tables";
    public static final String DB_INDEX_FINDINGS = "pg_database_index_findings";
    public static final String DB_INDEX_FINDINGS_BYTES = "pg_database_index_findings_bytes";
    public static final String DB_SEQ_SCAN_HEAVY = "pg_database_seq_scan_heavy_tables";
    public static final String VISIT_SUCCESS = "pgvigil_database_visit_success";
    public static final String VISIT_DURATION = "pgvigil_database_visit_duration_seconds";
    public static final String VISIT_LAST = "pgvigil_database_last_visit_timestamp_seconds";

    /** pg_stat_database column → counter, in exposition order. */
    static final Map<String, ToLongFunction<Database>> DATABASE_COUNTERS = new java.util.LinkedHashMap<>();
    static {
        DATABASE_COUNTERS.put("xact_commit", Database::xactCommit);
        DATABASE_COUNTERS.put("xact_rollback", Database::xactRollback);
        DATABASE_COUNTERS.put("deadlocks", Database::deadlocks);
        DATABASE_COUNTERS.put("temp_files", Database::tempFiles);
        DATABASE_COUNTERS.put("temp_bytes", Database::tempBytes);
        DATABASE_COUNTERS.put("blks_hit", Database::blksHit);
        DATABASE_COUNTERS.put("blks_read", Database::blksRead);
    }

    private final Map<String, SeriesFamily> families = new HashMap<>();
    private final MeterRegistry registry;
    private final int top;
    private final double intervalSeconds;
    /** datname → {calls, exec seconds} summed over every window since pgvigil started: true counters. */
    private final Map<String, double[]> statementTotals = new HashMap<>();

    @Inject
    public MetricsPublisher(MeterRegistry registry, PgvigilConfig config) {
        this.registry = registry;
        this.top = config.statements().top();
        this.intervalSeconds = config.interval().toMillis() / 1000.0;
    }

    public synchronized void publish(PollState state) {
        Snapshot snapshot = state.snapshot();
        boolean up = state.up();
        gauge(PG_UP, "1 when the last poll reached the target, 0 when it could not").set(up ? 1.0 : 0.0);
        gauge(PG_IN_RECOVERY, "1 on a standby (pg_is_in_recovery()), 0 on a primary")
                .set(up ? (snapshot.server().inRecovery() ? 1.0 : 0.0) : null);
        gauge(PG_SERVER_VERSION_NUM, "server_version_num of the target")
                .set(up ? (double) snapshot.server().versionNum() : null);
        gauge(PG_POSTMASTER_START_TIME, "pg_postmaster_start_time() as Unix time; changes on restart")
                .set(up ? snapshot.server().startTimeSeconds() : null);

        Optional<Activity> activity = up ? snapshot.get(Activity.class) : Optional.empty();
        Map<Tags, Double> connections = new HashMap<>();
        Map<Tags, Double> waiting = new HashMap<>();
        activity.ifPresent(a -> {
            a.byDatabaseAndState().forEach((db, states) -> states.forEach((st, n) ->
                    connections.put(Tags.of("datname", db, "state", st), (double) n)));
            a.waitingOnLockByDatabase().forEach((db, n) -> waiting.put(Tags.of("datname", db), (double) n));
        });
        gauge(PG_CONNECTIONS, "Client backends by database and state (pg_stat_activity), pgvigil's own included")
                .set(connections);
        gauge(PG_CONNECTIONS_WAITING_ON_LOCK, "Client backends waiting for a heavyweight lock, by database")
                .set(waiting);
        gauge(PG_OLDEST_TRANSACTION_AGE, "Age of the oldest open transaction of any session but pgvigil's; 0 when none")
                .set(activity.map(a -> a.oldestTransaction().map(b -> b.xactAgeSeconds()).orElse(0.0)).orElse(null));
        gauge(PG_OLDEST_IDLE_IN_TRANSACTION, "Longest time a session has sat idle inside an open transaction; 0 when none")
                .set(activity.map(Activity::longestIdleInTransactionSeconds).orElse(null));

        Optional<ConnectionSettings> settings = up ? snapshot.get(ConnectionSettings.class) : Optional.empty();
        gauge(PG_MAX_CONNECTIONS, "max_connections").set(settings.map(s -> (double) s.maxConnections()).orElse(null));
        gauge(PG_SUPERUSER_RESERVED, "superuser_reserved_connections")
                .set(settings.map(s -> (double) s.superuserReservedConnections()).orElse(null));
        gauge(PG_RESERVED, "reserved_connections (PostgreSQL 16+)")
                .set(settings.map(ConnectionSettings::reservedConnections).map(Integer::doubleValue).orElse(null));
        gauge(PG_SLOTS_USABLE, "Connection slots an ordinary client can take: max_connections minus both reserves")
                .set(settings.map(s -> (double) s.usableSlots()).orElse(null));

        List<Database> databases = up ? snapshot.get(DatabaseStats.class).map(DatabaseStats::databases).orElse(List.of())
                : List.of();
        DATABASE_COUNTERS.forEach((column, getter) -> counter(PG_STAT_DATABASE + column,
                "pg_stat_database." + column + " per database, cumulative since the last stats reset")
                .set(perDatabase(databases, d -> (double) getter.applyAsLong(d))));
        Map<Tags, Double> rollbackRatio = new HashMap<>();
        Map<Tags, Double> hitRatio = new HashMap<>();
        for (DatabaseDelta d : state.window().databases().values()) {
            Tags tags = Tags.of("datname", d.datname());
            if (d.transactions() > 0) {
                rollbackRatio.put(tags, (double) d.xactRollback() / d.transactions());
            }
            if (d.blockAccesses() > 0) {
                hitRatio.put(tags, (double) d.blksHit() / d.blockAccesses());
            }
        }
        gauge(PG_ROLLBACK_RATIO, "Share of the database's transactions rolled back during the last poll interval")
                .set(rollbackRatio);
        gauge(PG_BLKS_HIT_RATIO, "Share of block reads served from shared buffers during the last poll interval")
                .set(hitRatio);

        publishStatements(up ? snapshot.get(Statements.class) : Optional.empty(), state.window());
        publishSlots(up ? snapshot.get(Slots.class) : Optional.empty());
        publishStandbys(up ? snapshot.get(Standbys.class) : Optional.empty());
        Optional<Receiver> receiver = up ? snapshot.get(Receiver.class) : Optional.empty();
        gauge(STANDBY_SELF_RECEIVED, "On a standby: pg_last_wal_receive_lsn() as bytes from 0/0 (rate() is the WAL received per second)")
                .set(receiver.map(Receiver::receivedBytes).map(Long::doubleValue).orElse(null));
        gauge(STANDBY_SELF_REPLAYED, "On a standby: pg_last_wal_replay_lsn() as bytes from 0/0")
                .set(receiver.map(Receiver::replayedBytes).map(Long::doubleValue).orElse(null));
        gauge(STANDBY_SELF_REPLAY_LAG_BYTES, "On a standby: WAL received but not yet replayed")
                .set(receiver.map(Receiver::replayLagBytes).map(Long::doubleValue).orElse(null));
        gauge(STANDBY_SELF_REPLAY_LAG_SECONDS, "On a standby: 0 when everything received is replayed, else the age of"
                + " the last replayed transaction").set(receiver.map(Receiver::replayLagSeconds).orElse(null));
        gauge(STANDBY_SELF_STREAMING, "On a standby: 1 while the WAL receiver streams from the primary, 0 when it does not")
                .set(receiver.map(r -> r.streaming() ? 1.0 : 0.0).orElse(null));
        gauge(STANDBY_SELF_RECEIVER_STATUS, "On a standby: 1 for the WAL receiver's status (streaming, waiting, starting,"
                + " stopping, restarting, stopped; none when no receiver runs)")
                .set(receiver.map(r -> Map.of(Tags.of("status", r.status() == null ? "none" : r.status()), 1.0))
                        .orElse(Map.of()));
        gauge(STANDBY_SELF_LAST_MESSAGE, "On a standby: time since the WAL receiver last heard from the primary"
                + " (an idle primary sends little, so this alone does not mean a stall)")
                .set(receiver.map(Receiver::lastMessageAgeSeconds).orElse(null));
        publishRelations(state, up ? snapshot.get(Relations.class) : Optional.empty());
        publishSelf(state);
        publishBreaches(state);
    }

    /**
     * Per database (never per index or table): index hit ratio between the last two visits, index
     * and table counts and sizes, and how many indexes and tables are part of a finding.
     */
    private void publishRelations(PollState state, Optional<Relations> relations) {
        Map<Tags, Double> hitRatio = new HashMap<>();
        Map<Tags, Double> indexes = new HashMap<>();
        Map<Tags, Double> indexBytes = new HashMap<>();
        Map<Tags, Double> tables = new HashMap<>();
        Map<Tags, Double> flagged = new HashMap<>();
        Map<Tags, Double> flaggedBytes = new HashMap<>();
        Map<Tags, Double> seqHeavy = new HashMap<>();
        Map<Tags, Double> visitSuccess = new HashMap<>();
        Map<Tags, Double> visitDuration = new HashMap<>();
        Map<Tags, Double> visitLast = new HashMap<>();
        if (relations.isPresent()) {
            Map<String, List<RelationFindings.Ref>> indexRefs =
                    RelationFindings.bySubject(state, RelationFindings.INDEX_CHECKS);
            Map<String, List<RelationFindings.Ref>> tableRefs =
                    RelationFindings.bySubject(state, RelationFindings.TABLE_CHECKS);
            for (Relations.DatabaseState db : relations.get().databases().values()) {
                Tags tags = Tags.of("datname", db.datname());
                RelationWindow w = db.window();
                if (db.fresh() && w != null && w.idxBlockAccesses() > 0) {
                    hitRatio.put(tags, (double) w.idxBlksHit() / w.idxBlockAccesses());
                }
                indexes.put(tags, (double) db.current().indexes().size());
                indexBytes.put(tags, (double) db.current().indexes().stream().mapToLong(Index::sizeBytes).sum());
                tables.put(tags, (double) db.current().tables().size());
                for (String check : RelationFindings.INDEX_CHECKS) {
                    flagged.put(tags.and("check", check), 0.0);
                    flaggedBytes.put(tags.and("check", check), 0.0);
                }
                if (!indexRefs.isEmpty()) {
                    for (Index index : db.current().indexes()) {
                        List<RelationFindings.Ref> refs =
                                indexRefs.get(RelationSubjects.of(db.datname(), index.schema(), index.name()));
                        if (refs != null) {
                            for (RelationFindings.Ref ref : refs) {
                                flagged.merge(tags.and("check", ref.check()), 1.0, Double::sum);
                                flaggedBytes.merge(tags.and("check", ref.check()), (double) index.sizeBytes(), Double::sum);
                            }
                        }
                    }
                }
                long heavy = tableRefs.isEmpty() ? 0 : db.current().tables().stream()
                        .filter(t -> tableRefs.containsKey(RelationSubjects.of(db.datname(), t.schema(), t.name())))
                        .count();
                seqHeavy.put(tags, (double) heavy);
                visitLast.put(tags, db.at().toEpochMilli() / 1000.0);
            }
            for (Relations.Visit v : relations.get().visits()) {
                Tags tags = Tags.of("datname", v.datname());
                visitSuccess.put(tags, v.success() ? 1.0 : 0.0);
                if (v.seconds() != null) {
                    visitDuration.put(tags, v.seconds());
                }
            }
        }
        gauge(DB_INDEX_HIT_RATIO, "Share of index block accesses answered by shared buffers between the database's last"
                + " two visits (idx_blks_hit over hit + read, all user indexes)").set(hitRatio);
        gauge(DB_INDEXES, "User indexes in the database at its last visit").set(indexes);
        gauge(DB_INDEXES_BYTES, "Size of the database's user indexes (relpages × block_size, as of the last VACUUM/ANALYZE)")
                .set(indexBytes);
        gauge(DB_TABLES, "User tables and materialized views in the database at its last visit").set(tables);
        gauge(DB_INDEX_FINDINGS, "Indexes with an open unused_index, duplicate_index or invalid_index finding, by check")
                .set(flagged);
        gauge(DB_INDEX_FINDINGS_BYTES, "Size of the indexes with an open finding, by check (what dropping them would free)")
                .set(flaggedBytes);
        gauge(DB_SEQ_SCAN_HEAVY, "Tables with an open seq_scan_heavy finding").set(seqHeavy);
        gauge(VISIT_SUCCESS, "1 when the database's last visit read its index and table statistics, 0 when it failed"
                + " or was skipped (see /api/v1/status)").set(visitSuccess);
        gauge(VISIT_DURATION, "Time the database's last visit took: connecting and both catalog queries")
                .set(visitDuration);
        gauge(VISIT_LAST, "Unix time of the database's last successful visit").set(visitLast);
    }

    /**
     * Per-statement series for the top {@code pgvigil.statements.top} statements of the interval by
     * execution time only (labels queryid, datname, user; never the text), per-database sums for all.
     */
    private void publishStatements(Optional<Statements> statements, Window window) {
        Map<List<String>, double[]> perStatement = new HashMap<>();
        Map<List<String>, Double> intervalSeconds = new HashMap<>();
        Map<List<String>, long[]> intervalCalls = new HashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            List<String> labels = List.of(Long.toString(s.queryid()), nonNull(s.datname()), nonNull(s.user()));
            intervalSeconds.merge(labels, d.execSeconds(), Double::sum);
            intervalCalls.computeIfAbsent(labels, k -> new long[1])[0] += d.calls();
            double[] db = statementTotals.computeIfAbsent(nonNull(s.datname()), k -> new double[2]);
            db[0] += d.calls();
            db[1] += d.execSeconds();
        }
        List<List<String>> topLabels = intervalSeconds.entrySet().stream()
                .sorted(Map.Entry.<List<String>, Double>comparingByValue().reversed()).limit(top)
                .map(Map.Entry::getKey).toList();
        int blockSize = statements.map(Statements::blockSize).orElse(8192);
        if (statements.isPresent()) {
            java.util.Set<List<String>> wanted = new java.util.HashSet<>(topLabels);
            for (Statement s : statements.get().entries()) {
                List<String> labels = List.of(Long.toString(s.queryid()), nonNull(s.datname()), nonNull(s.user()));
                if (wanted.contains(labels)) {
                    double[] v = perStatement.computeIfAbsent(labels, k -> new double[4]);
                    v[0] += s.calls();
                    v[1] += s.execSeconds();
                    v[2] += s.rows();
                    v[3] += (double) s.tempBlksWritten() * blockSize;
                }
            }
        }
        String[] names = {STATEMENT_CALLS, STATEMENT_EXEC_SECONDS, STATEMENT_ROWS, STATEMENT_TEMP_BYTES};
        String[] helps = {"Calls of a top-N statement (pg_stat_statements.calls)",
                "Execution time of a top-N statement (pg_stat_statements.total_exec_time)",
                "Rows returned or affected by a top-N statement (pg_stat_statements.rows)",
                "Temporary file bytes written by a top-N statement (temp_blks_written × block_size)"};
        for (int i = 0; i < names.length; i++) {
            Map<Tags, Double> series = new HashMap<>();
            int column = i;
            perStatement.forEach((labels, v) -> series.put(statementTags(labels), v[column]));
            counter(names[i], helps[i] + "; only the top pgvigil.statements.top of the interval by execution time")
                    .set(series);
        }
        Map<Tags, Double> means = new HashMap<>();
        for (List<String> labels : topLabels) {
            means.put(statementTags(labels), intervalSeconds.get(labels) / intervalCalls.get(labels)[0]);
        }
        gauge(STATEMENT_MEAN, "Mean execution time of a top-N statement during the last poll interval").set(means);
        Map<Tags, Double> dbCalls = new HashMap<>();
        Map<Tags, Double> dbSeconds = new HashMap<>();
        if (statements.isPresent()) {
            statementTotals.forEach((db, v) -> {
                dbCalls.put(Tags.of("datname", db), v[0]);
                dbSeconds.put(Tags.of("datname", db), v[1]);
            });
        }
        counter(STATEMENT_DB_CALLS, "Statement calls per database, summed by pgvigil over every interval since it started")
                .set(dbCalls);
        counter(STATEMENT_DB_EXEC_SECONDS, "Statement execution time per database, summed by pgvigil since it started")
                .set(dbSeconds);
        gauge(STATEMENT_ENTRIES, "Entries in pg_stat_statements (compare with pg_stat_statements.max)")
                .set(statements.map(s -> (double) s.entries().size()).orElse(null));
        counter(STATEMENT_DEALLOCATIONS, "Entries pg_stat_statements evicted to make room (pg_stat_statements_info.dealloc, 14+)")
                .set(statements.map(Statements::deallocations).map(Long::doubleValue).orElse(null));
        gauge(STATEMENTS_OUTSIDE_TOP, "Statements that ran in the last interval but have no series of their own (beyond top-N)")
                .set(statements.isPresent() ? (double) Math.max(0, intervalSeconds.size() - top) : null);
        counter(STATEMENT_TEXT_FETCHES, "Queries pgvigil made to read query texts (only for statements it had not seen)")
                .set(statements.map(s -> (double) s.textFetches()).orElse(null));
    }

    private void publishStandbys(Optional<Standbys> standbys) {
        Map<Tags, Double> bytes = new HashMap<>();
        Map<Tags, Double> seconds = new HashMap<>();
        Map<Tags, Double> info = new HashMap<>();
        standbys.ifPresent(list -> list.standbys().forEach(s -> {
            Tags tags = Tags.of("application_name", nonNull(s.applicationName()), "client_addr", s.clientAddr());
            putStage(bytes, tags, "sent", s.sentLagBytes());
            putStage(bytes, tags, "write", s.writeLagBytes());
            putStage(bytes, tags, "flush", s.flushLagBytes());
            putStage(bytes, tags, "replay", s.replayLagBytes());
            putStage(seconds, tags, "write", s.writeLagSeconds());
            putStage(seconds, tags, "flush", s.flushLagSeconds());
            putStage(seconds, tags, "replay", s.replayLagSeconds());
            info.put(tags.and("state", nonNull(s.state()), "sync_state", nonNull(s.syncState())), 1.0);
        }));
        gauge(STANDBY_LAG_BYTES, "Bytes of WAL a standby is behind pg_current_wal_lsn(), per stage (seen from the primary)")
                .set(bytes);
        gauge(STANDBY_LAG_SECONDS, "write_lag, flush_lag and replay_lag of pg_stat_replication (absent when"
                + " PostgreSQL has no recent measurement)").set(seconds);
        gauge(STANDBY_INFO, "1 per WAL sender, with its state and sync_state").set(info);
    }

    private static void putStage(Map<Tags, Double> series, Tags tags, String stage, Number value) {
        if (value != null) {
            series.put(tags.and("stage", stage), value.doubleValue());
        }
    }

    private void publishSlots(Optional<Slots> slots) {
        Map<Tags, Double> active = new HashMap<>();
        Map<Tags, Double> retained = new HashMap<>();
        Map<Tags, Double> safe = new HashMap<>();
        Map<Tags, Double> status = new HashMap<>();
        slots.ifPresent(list -> list.slots().forEach(s -> {
            Tags tags = Tags.of("slot_name", s.slotName(), "slot_type", s.slotType());
            active.put(tags, s.active() ? 1.0 : 0.0);
            if (s.retainedBytes() != null) {
                retained.put(tags, s.retainedBytes().doubleValue());
            }
            if (s.safeWalSize() != null) {
                safe.put(tags, s.safeWalSize().doubleValue());
            }
            if (s.walStatus() != null) {
                status.put(tags.and("wal_status", s.walStatus()), 1.0);
            }
        }));
        gauge(SLOT_ACTIVE, "1 when a consumer is streaming from the replication slot").set(active);
        gauge(SLOT_RETAINED, "WAL the slot holds back: pg_current_wal_lsn() - restart_lsn").set(retained);
        gauge(SLOT_SAFE_WAL, "WAL that can still be written before the slot risks losing what it needs"
                + " (absent when max_slot_wal_keep_size is unlimited)").set(safe);
        gauge(SLOT_WAL_STATUS, "1 for the slot's wal_status: reserved, extended, unreserved or lost").set(status);
    }

    private static Tags statementTags(List<String> labels) {
        return Tags.of("queryid", labels.get(0), "datname", labels.get(1), "user", labels.get(2));
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }

    private void publishSelf(PollState state) {
        Map<Tags, Double> enabled = new HashMap<>();
        Map<Tags, Double> success = new HashMap<>();
        Map<Tags, Double> duration = new HashMap<>();
        for (CollectorStatus c : state.collectors()) {
            Tags tags = Tags.of("collector", c.collector());
            enabled.put(tags, c.enabled() ? 1.0 : 0.0);
            if (c.enabled()) {
                success.put(tags, c.success() ? 1.0 : 0.0);
            }
            if (c.durationSeconds() != null) {
                duration.put(tags, c.durationSeconds());
            }
        }
        gauge(COLLECTOR_ENABLED, "1 when the collector can run on this server, 0 when it is off (see /api/v1/status)")
                .set(enabled);
        gauge(COLLECTOR_SUCCESS, "1 when the collector succeeded in the last poll, 0 when it failed").set(success);
        gauge(COLLECTOR_DURATION, "Time the collector's query took in the last poll").set(duration);
        gauge(LAST_POLL, "Unix time of the last poll that reached the target")
                .set(state.lastSuccessAt() == null ? null : state.lastSuccessAt().toEpochMilli() / 1000.0);
        gauge(POLL_DURATION, "Time the last poll took, collectors and checks").set(state.durationSeconds());
        gauge(POLL_INTERVAL, "pgvigil.interval: how often the target is polled (alert when the last successful poll"
                + " is older than a few of these)").set(intervalSeconds);
        counter(POLLS, "Polls since start, by result").set(Map.of(
                Tags.of("result", "success"), (double) (state.polls() - state.failedPolls()),
                Tags.of("result", "failure"), (double) state.failedPolls()));
    }

    private void publishBreaches(PollState state) {
        Map<Tags, Double> breach = new HashMap<>();
        for (Finding f : state.findings()) {
            breach.put(Tags.of("check", f.check(), "severity", f.severity().label(), "subject", f.subject()), 1.0);
        }
        // Every judged subject of a check with few subjects; only subjects with an open finding of a
        // check on statements, indexes or tables (bounded series).
        java.util.Set<String> open = new java.util.HashSet<>();
        state.open().forEach(f -> open.add(f.check() + "\n" + f.subject()));
        Map<Tags, Double> values = new HashMap<>();
        state.evaluations().forEach((check, evaluations) -> {
            boolean every = Catalog.check(check).map(spec -> spec.subject().bounded()).orElse(false);
            for (Evaluation e : evaluations) {
                if (e.value() != null && (every || open.contains(check + "\n" + e.subject()))) {
                    values.put(Tags.of("check", check, "subject", e.subject()), e.value());
                }
            }
        });
        Map<Tags, Double> thresholds = new HashMap<>();
        state.thresholds().forEach((check, bySeverity) -> bySeverity.forEach((severity, value) ->
                thresholds.put(Tags.of("check", check, "severity", severity), value)));
        gauge(BREACH, "1 while a finding is open; the series is removed when it clears").set(breach);
        gauge(CHECK_VALUE, "The value a check measured for a subject in the last poll").set(values);
        gauge(CHECK_THRESHOLD, "A check's configured threshold").set(thresholds);
        gauge(FINDINGS_SUPPRESSED, "Open findings left out of /api/v1/findings and pgvigil_breach by pgvigil.findings.max")
                .set((double) state.suppressed());
    }

    private static Map<Tags, Double> perDatabase(List<Database> databases, Function<Database, Double> value) {
        Map<Tags, Double> series = new HashMap<>();
        databases.forEach(d -> series.put(Tags.of("datname", d.datname()), value.apply(d)));
        return series;
    }

    private SeriesFamily gauge(String name, String help) {
        return families.computeIfAbsent(name, n -> new SeriesFamily(registry, n, help, SeriesFamily.Type.GAUGE));
    }

    private SeriesFamily counter(String name, String help) {
        return families.computeIfAbsent(name, n -> new SeriesFamily(registry, n, help, SeriesFamily.Type.COUNTER));
    }
}
