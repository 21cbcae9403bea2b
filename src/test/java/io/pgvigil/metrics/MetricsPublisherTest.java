package io.pgvigil.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.PollState;
import io.pgvigil.core.Snapshot;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.relations.RelationWindow;
import io.pgvigil.relations.Relations;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;
import io.pgvigil.testing.Replay;

/**
 * The publisher with every feature's metrics group, fed recorded polls through the checks and the
 * findings engine as the monitor feeds it ({@link Replay}), scraped from a real Prometheus registry:
 * the exact sample lines of a family, the values derived from the recorded snapshot.
 */
class MetricsPublisherTest {

    static final String N_PLUS_ONE = "StatementsMatrixTest.nPlusOneIsFlaggedNamingParentAndChildWithItsAvoidableRoundTrips";
    static final String SLOT = "ReplicationSlotMatrixTest.inactiveSlotRetainingWalOpensReplicationSlotAndDroppingItClears";
    static final String INDEXES = "IndexesMatrixTest.duplicateUnusedAndInvalidIndexes";
    static final String HIT_RATE = "IndexesMatrixTest.randomLookupsOverAnIndexLargerThanSharedBuffersOpenIndexHitRate";
    static final String POSTS = "SELECT id, title FROM posts WHERE user_id = $1";
    static final String USERS = "SELECT id FROM users ORDER BY id LIMIT $1";

    /**
     * Seen 15 s apart: n_plus_one matches the pair once its window holds two intervals, judges it from
     * the sixth poll and opens it at the eighth (matched at the three polls that judged it).
     */
    private final List<Poll> nPlusOne = Recordings.every(Recordings.polls(N_PLUS_ONE, 18), Duration.ofSeconds(15));
    private final String child = Long.toString(nPlusOne.get(1).queryid(POSTS));
    private final String parent = Long.toString(nPlusOne.get(1).queryid(USERS));

    @Test
    void aRecordedPollIsPublishedAsTheSeriesOfItsSnapshot() {
        try (Replay replay = Replay.withConfig()) {
            for (int i = 0; i < 8; i++) {
                replay.poll(nPlusOne.get(i));
            }
            PollState state = replay.poll(nPlusOne.get(8));
            Poll poll = nPlusOne.get(8);
            double avoidable = avoidablePerSecondAt(8);
            String scrape = replay.scrape();

            assertThat(samples(scrape, "pg_up")).containsExactly("pg_up 1.0");
            assertThat(samples(scrape, "pg_server_version_num"))
                    .containsExactly("pg_server_version_num " + (double) poll.snapshot().server().versionNum());
            assertThat(samples(scrape, "pg_postmaster_start_time_seconds")).containsExactly(
                    "pg_postmaster_start_time_seconds{process_name=\"postmaster\"} "
                            + poll.snapshot().server().startTimeSeconds());
            assertThat(samples(scrape, "pg_stat_database_xact_commit_total")).containsExactlyInAnyOrderElementsOf(
                    poll.get(DatabaseStats.class).databases().stream().map(d -> "pg_stat_database_xact_commit_total{datname=\""
                            + d.datname() + "\"} " + (double) d.xactCommit()).toList());
            Map<String, Integer> connections = new TreeMap<>();
            for (Backend b : poll.get(Activity.class).backends()) {
                connections.merge("{datname=\"" + (b.datname() == null ? "" : b.datname()) + "\",state=\""
                        + (b.state() == null ? "" : b.state()) + "\"} ", 1, Integer::sum);
            }
            assertThat(samples(scrape, "pg_connections")).containsExactlyInAnyOrderElementsOf(connections.entrySet()
                    .stream().map(e -> "pg_connections" + e.getKey() + (double) e.getValue()).toList());
            List<String> collectors = new ArrayList<>();
            for (CollectorStatus c : poll.collectors()) {
                if (c.enabled()) {
                    collectors.add("pgvigil_collector_success{collector=\"" + c.collector() + "\"} 1.0");
                }
            }
            assertThat(samples(scrape, "pgvigil_collector_success")).containsExactlyInAnyOrderElementsOf(collectors);
            assertThat(samples(scrape, "pgvigil_poll_duration_seconds"))
                    .containsExactly("pgvigil_poll_duration_seconds " + poll.durationSeconds());
            assertThat(samples(scrape, "pgvigil_last_poll_timestamp_seconds")).containsExactly(
                    "pgvigil_last_poll_timestamp_seconds " + poll.snapshot().at().toEpochMilli() / 1000.0);
            assertThat(samples(scrape, "pgvigil_polls_total")).containsExactlyInAnyOrder(
                    "pgvigil_polls_total{result=\"failure\"} 0.0", "pgvigil_polls_total{result=\"success\"} 9.0");

            assertThat(samples(scrape, "pgvigil_breach")).containsExactly(
                    "pgvigil_breach{check=\"n_plus_one\",severity=\"warning\",subject=\"" + child + "\"} 1.0");
            // Checks of few subjects (server, database) publish every value they measured; statement
            // checks only the values of subjects with an open finding: the child, not its parent, and
            // not slow_query's mean of the child, measured without a finding.
            assertThat(value(state, "slow_query", child)).isNotNull();
            assertThat(value(state, "n_plus_one", parent)).isEqualTo(0.0);
            // No database reached min-transactions (20) in this window: rollback_rate judged none.
            assertThat(state.window().databases().values()).allSatisfy(d -> assertThat(d.transactions()).isLessThan(20));
            assertThat(state.evaluations().get("rollback_rate")).allSatisfy(e -> assertThat(e.hold()).isTrue());
            // lock_wait judges every database with a client backend: nobody waited in this poll.
            // Statement checks publish only the values of open findings: the child's, not its parent's.
            assertThat(samples(scrape, "pgvigil_check_value")).contains(
                    "pgvigil_check_value{check=\"n_plus_one\",subject=\"" + child + "\"} " + avoidable,
                    "pgvigil_check_value{check=\"lock_wait\",subject=\"shop\"} 0.0",
                    "pgvigil_check_value{check=\"pool_saturation\",subject=\"server\"} "
                            + value(state, "pool_saturation", "server"))
                    .filteredOn(line -> line.matches("pgvigil_check_value\\{check=\"(n_plus_one|slow_query|query_regression|temp_spill)\".*"))
                    .containsExactly("pgvigil_check_value{check=\"n_plus_one\",subject=\"" + child + "\"} " + avoidable);
            // duplicate_index and invalid_index have no threshold: what they find is the breach.
            assertThat(samples(scrape, "pgvigil_check_threshold")).containsExactlyInAnyOrder(
                    "pgvigil_check_threshold{check=\"checkpoint_pressure\",severity=\"warning\"} 0.5",
                    "pgvigil_check_threshold{check=\"index_hit_rate\",severity=\"critical\"} 0.95",
                    "pgvigil_check_threshold{check=\"index_hit_rate\",severity=\"warning\"} 0.99",
                    "pgvigil_check_threshold{check=\"lock_wait\",severity=\"critical\"} 60.0",
                    "pgvigil_check_threshold{check=\"lock_wait\",severity=\"warning\"} 10.0",
                    "pgvigil_check_threshold{check=\"long_transaction\",severity=\"critical\"} 300.0",
                    "pgvigil_check_threshold{check=\"long_transaction\",severity=\"warning\"} 60.0",
                    "pgvigil_check_threshold{check=\"n_plus_one\",severity=\"critical\"} 50.0",
                    "pgvigil_check_threshold{check=\"n_plus_one\",severity=\"warning\"} 0.1",
                    "pgvigil_check_threshold{check=\"pool_saturation\",severity=\"critical\"} 0.9",
                    "pgvigil_check_threshold{check=\"pool_saturation\",severity=\"warning\"} 0.8",
                    "pgvigil_check_threshold{check=\"query_regression\",severity=\"critical\"} 10.0",
                    "pgvigil_check_threshold{check=\"query_regression\",severity=\"warning\"} 3.0",
                    "pgvigil_check_threshold{check=\"replication_lag\",severity=\"critical\"} 30.0",
                    "pgvigil_check_threshold{check=\"replication_lag\",severity=\"warning\"} 5.0",
                    "pgvigil_check_threshold{check=\"replication_slot\",severity=\"critical\"} 1.073741824E10",
                    "pgvigil_check_threshold{check=\"replication_slot\",severity=\"warning\"} 1.073741824E9",
                    "pgvigil_check_threshold{check=\"rollback_rate\",severity=\"critical\"} 0.25",
                    "pgvigil_check_threshold{check=\"rollback_rate\",severity=\"warning\"} 0.1",
                    "pgvigil_check_threshold{check=\"seq_scan_heavy\",severity=\"warning\"} 0.5",
                    "pgvigil_check_threshold{check=\"slow_query\",severity=\"critical\"} 1.0",
                    "pgvigil_check_threshold{check=\"slow_query\",severity=\"warning\"} 0.1",
                    "pgvigil_check_threshold{check=\"temp_spill\",severity=\"critical\"} 1.073741824E9",
                    "pgvigil_check_threshold{check=\"temp_spill\",severity=\"warning\"} 1.048576E7",
                    "pgvigil_check_threshold{check=\"unused_index\",severity=\"info\"} 604800.0",
                    "pgvigil_check_threshold{check=\"vacuum_lag\",severity=\"warning\"} 2.0",
                    "pgvigil_check_threshold{check=\"xid_wraparound\",severity=\"critical\"} 0.75",
                    "pgvigil_check_threshold{check=\"xid_wraparound\",severity=\"warning\"} 0.5",
                    // Its critical is the server's autovacuum_freeze_max_age (default 200 million), read from the server.
                    "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"critical\"} 2.0E8",
                    "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"warning\"} 5.0E7");
        }
    }

    /**
     * The N+1 pair through its whole life, polls 15 s apart: matched from the second interval, open at
     * the eighth poll (judged from the sixth), at the avoidable round trips per second of the window,
     * kept at its last value (the ninth poll's) after the loop stopped, while the child goes on alone,
     * until a whole window (2 minutes) after its last match, then measured at 0 and cleared: both its
     * series are gone.
     */
    @Test
    void aStatementCheckValueExistsOnlyWhileItsFindingIsOpen() {
        List<String> breach = new ArrayList<>();
        List<String> value = new ArrayList<>();
        List<Poll> polls = new ArrayList<>(nPlusOne);
        for (int i = 0; i < 6; i++) { // the lookup alone goes on, once per poll
            polls.add(Recordings.ran(polls.get(polls.size() - 1), Long.parseLong(child), 1, 3, Duration.ofSeconds(15)));
        }
        try (Replay replay = Replay.withConfig()) {
            for (Poll poll : polls) {
                replay.poll(poll);
                String scrape = replay.scrape();
                breach.add(String.join("|", samples(scrape, "pgvigil_breach")));
                value.add(String.join("|", samples(scrape, "pgvigil_check_value{check=\"n_plus_one\"")));
            }
        }
        String subject = ",subject=\"" + child + "\"} ";
        String warning = "pgvigil_breach{check=\"n_plus_one\",severity=\"warning\"" + subject + "1.0";
        List<String> breaches = new ArrayList<>(java.util.Collections.nCopies(8, ""));
        breaches.addAll(java.util.Collections.nCopies(9, warning));
        breaches.add("");
        assertThat(breach).containsExactlyElementsOf(breaches);
        String series = "pgvigil_check_value{check=\"n_plus_one\"" + subject;
        List<String> values = new ArrayList<>(java.util.Collections.nCopies(8, ""));
        values.add(series + avoidablePerSecondAt(8));
        values.addAll(java.util.Collections.nCopies(8, series + avoidablePerSecondAt(9)));
        values.add("");
        assertThat(value).containsExactlyElementsOf(values);
    }

    /**
     * n_plus_one's value at poll 8 or 9 of the recording: the child's calls over the window (the loop's
     * 100 a poll through the sixth, the lookups alone from the eighth) minus the parent's, per second of
     * the window's eight intervals.
     */
    private double avoidablePerSecondAt(int poll) {
        long childId = Long.parseLong(child);
        long lookups = 0;
        for (int p = 8; p <= poll; p++) {
            lookups += nPlusOne.get(p).statement(childId).calls() - nPlusOne.get(p - 1).statement(childId).calls();
        }
        int loops = poll == 8 ? 6 : 5; // the window of the ninth poll no longer holds the first interval
        return (100L * loops + lookups - loops) / 120.0;
    }

    @Test
    void aPollThatCannotReachTheTargetRemovesEverySeriesOfTheServerAndWithdrawsItsFindings() {
        try (Replay replay = Replay.withConfig()) {
            for (int i = 0; i <= 8; i++) {
                replay.poll(nPlusOne.get(i));
            }
            assertThat(replay.scrape()).contains("pgvigil_breach{", "pg_stat_database_xact_commit_total{",
                    "pg_stat_statements_entries ");
            Poll last = nPlusOne.get(8);
            List<CollectorStatus> unreachable = last.collectors().stream()
                    .map(c -> new CollectorStatus(c.collector(), true, null, false, null, "target unreachable")).toList();
            replay.poll(new Poll(Snapshot.down(last.snapshot().at().plus(Duration.ofSeconds(15))), unreachable, 0.5,
                    "Connection refused"));
            String scrape = replay.scrape();
            assertThat(samples(scrape, "pg_up")).containsExactly("pg_up 0.0");
            for (String gone : List.of("pg_in_recovery", "pg_server_version_num", "pg_postmaster_start_time_seconds",
                    "pg_connections", "pg_settings_max_connections", "pg_stat_database_xact_commit_total",
                    "pg_stat_statements_entries", "pgvigil_statements_calls_total", "pgvigil_database_indexes",
                    "pgvigil_breach", "pgvigil_check_value", "pgvigil_collector_duration_seconds")) {
                assertThat(samples(scrape, gone)).as(gone).isEmpty();
            }
            assertThat(samples(scrape, "pgvigil_collector_success")).hasSize(last.collectors().size())
                    .allSatisfy(line -> assertThat(line).endsWith("} 0.0"));
            assertThat(samples(scrape, "pgvigil_polls_total")).containsExactlyInAnyOrder(
                    "pgvigil_polls_total{result=\"failure\"} 1.0", "pgvigil_polls_total{result=\"success\"} 9.0");
            assertThat(samples(scrape, "pgvigil_last_poll_timestamp_seconds")).containsExactly(
                    "pgvigil_last_poll_timestamp_seconds " + last.snapshot().at().toEpochMilli() / 1000.0);
            assertThat(samples(scrape, "pgvigil_check_threshold")).isNotEmpty();
        }
    }

    @Test
    void aDroppedSlotLeavesNoSeries() {
        List<Poll> polls = Recordings.polls(SLOT, 18);
        try (Replay replay = Replay.withConfig("pgvigil.checks.replication-slot.warning", "1M")) {
            replay.poll(polls.get(0));
            replay.poll(polls.get(1));
            long retained = polls.get(1).get(Slots.class).slots().get(0).retainedBytes();
            String labels = "{slot_name=\"forgotten_standby\",slot_type=\"physical\"";
            String scrape = replay.scrape();
            assertThat(samples(scrape, "pg_replication_slot_active")).containsExactly(
                    "pg_replication_slot_active" + labels + "} 0.0");
            assertThat(samples(scrape, "pg_replication_slot_retained_wal_bytes")).containsExactly(
                    "pg_replication_slot_retained_wal_bytes" + labels + "} " + (double) retained);
            assertThat(samples(scrape, "pg_replication_slot_wal_status")).containsExactly(
                    "pg_replication_slot_wal_status" + labels + ",wal_status=\"reserved\"} 1.0");
            assertThat(samples(scrape, "pgvigil_breach")).containsExactly(
                    "pgvigil_breach{check=\"replication_slot\",severity=\"warning\",subject=\"forgotten_standby\"} 1.0");
            assertThat(samples(scrape, "pgvigil_check_value{check=\"replication_slot\"")).containsExactly(
                    "pgvigil_check_value{check=\"replication_slot\",subject=\"forgotten_standby\"} " + (double) retained);

            replay.poll(polls.get(2));
            assertThat(replay.scrape()).doesNotContain("forgotten_standby");
        }
    }

    @Test
    void indexFindingsAreCountedPerDatabaseAndIndexBlocksAddUpOverVisits() {
        try (Replay replay = Replay.withConfig("pgvigil.checks.unused-index.window", "3s")) {
            List<Poll> polls = Recordings.polls(INDEXES, 18);
            replay.poll(polls.get(0));
            replay.poll(polls.get(1));
            String scrape = replay.scrape();
            assertThat(samples(scrape, "pgvigil_index_findings")).containsExactlyInAnyOrder(
                    "pgvigil_index_findings{check=\"duplicate_index\",datname=\"idxcheck\"} 1.0",
                    "pgvigil_index_findings{check=\"invalid_index\",datname=\"idxcheck\"} 1.0",
                    "pgvigil_index_findings{check=\"unused_index\",datname=\"idxcheck\"} 2.0");
            assertThat(samples(scrape, "pgvigil_index_findings_bytes")).containsExactlyInAnyOrder(
                    "pgvigil_index_findings_bytes{check=\"duplicate_index\",datname=\"idxcheck\"} 32768.0",
                    "pgvigil_index_findings_bytes{check=\"invalid_index\",datname=\"idxcheck\"} 0.0",
                    "pgvigil_index_findings_bytes{check=\"unused_index\",datname=\"idxcheck\"} 65536.0");
            assertThat(samples(scrape, "pgvigil_database_indexes")).containsExactly(
                    "pgvigil_database_indexes{datname=\"idxcheck\"} 5.0");
            // Index and table check values only for subjects with a finding: the unique and primary key indexes have none.
            assertThat(samples(scrape, "pgvigil_check_value{check=\"duplicate_index\"")).containsExactly(
                    "pgvigil_check_value{check=\"duplicate_index\",subject=\"idxcheck.public.orders_user\"} 32768.0");
        }
        try (Replay replay = Replay.withConfig()) {
            List<Poll> polls = Recordings.polls(HIT_RATE, 18);
            long hit = 0;
            long read = 0;
            for (Poll poll : polls) {
                replay.poll(poll);
                RelationWindow window = poll.get(Relations.class).databases().get("cold").window();
                if (window != null) {
                    hit += window.idxBlksHit();
                    read += window.idxBlksRead();
                }
                assertThat(samples(replay.scrape(), "pgvigil_index_blocks_hit_total")).containsExactly(
                        "pgvigil_index_blocks_hit_total{datname=\"cold\"} " + (double) hit);
                assertThat(samples(replay.scrape(), "pgvigil_index_blocks_read_total")).containsExactly(
                        "pgvigil_index_blocks_read_total{datname=\"cold\"} " + (double) read);
            }
            assertThat(hit).isPositive();
        }
    }

    /** The sample lines (not # HELP, # TYPE) of the series whose name, and labels if given, start with {@code prefix}. */
    static List<String> samples(String scrape, String prefix) {
        boolean labelled = prefix.contains("{");
        return scrape.lines().filter(line -> labelled ? line.startsWith(prefix)
                : line.startsWith(prefix + "{") || line.startsWith(prefix + " ")).toList();
    }

    private static Double value(PollState state, String check, String subject) {
        return state.evaluations().get(check).stream().filter(e -> e.subject().equals(subject)).map(Evaluation::value)
                .findFirst().orElseThrow();
    }
}
