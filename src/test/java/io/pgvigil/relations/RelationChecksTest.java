package io.pgvigil.relations;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Advice;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.Window;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.RelationsCollector.Index;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * The index and table checks on database visits as IndexesMatrixTest recorded them (PostgreSQL 18,
 * one visit per poll): {@code orders} with a primary key, a unique index, an index that another one
 * extends, and the invalid leftover of a failed CREATE UNIQUE INDEX CONCURRENTLY; {@code events} read by
 * sequential scans; {@code items} looked up at random through an index larger than shared_buffers.
 */
class RelationChecksTest {

    static final String INDEXES = "IndexesMatrixTest.duplicateUnusedAndInvalidIndexes";
    static final String SEQ_SCANS = "IndexesMatrixTest.seqScansOnAnUnindexedFilterOpenSeqScanHeavyAndTheIndexClearsIt";
    static final String HIT_RATE = "IndexesMatrixTest.randomLookupsOverAnIndexLargerThanSharedBuffersOpenIndexHitRate";

    /** Polls: the first visit; 4.6 s later (the test's clock moved); after a scan of orders_user_status; after two drops. */
    private final List<Poll> indexes = Recordings.polls(INDEXES, 18);

    @Test
    void theLeftoverOfAFailedConcurrentBuildIsAnInvalidIndexWarning() {
        List<List<Evaluation>> verdicts = judge(check("invalid_index"), indexes);
        for (int poll = 0; poll <= 2; poll++) {
            assertThat(verdicts.get(poll)).containsExactly(Evaluation.measured("idxcheck.public.orders_code_uq", 0,
                    Severity.WARNING, 0, "index orders_code_uq on public.orders in database idxcheck is invalid (a CREATE"
                            + " INDEX CONCURRENTLY or REINDEX CONCURRENTLY that failed): queries cannot use it but writes"
                            + " may still maintain it (0 kB); drop it with DROP INDEX CONCURRENTLY public.orders_code_uq,"
                            + " fix the cause (often duplicate keys) and create it again")
                    .withAdvice(new Advice("DROP INDEX CONCURRENTLY public.orders_code_uq;", false, "run in database"
                            + " idxcheck; no query can use an invalid index; fix the cause (often duplicate keys) before"
                            + " creating it again")));
        }
        assertThat(verdicts.get(3)).as("dropped").isEmpty();
    }

    @Test
    void anIndexWhoseKeysLeadAWiderOneIsADuplicateAndUniqueIndexesAreNot() {
        List<List<Evaluation>> verdicts = judge(check("duplicate_index"), indexes);
        for (int poll = 0; poll <= 2; poll++) {
            assertThat(verdicts.get(poll)).containsExactly(Evaluation.measured("idxcheck.public.orders_user", 32768,
                    Severity.INFO, 0, "index orders_user (user_id) on public.orders in database idxcheck is redundant:"
                            + " orders_user_status (user_id, status) covers the same leading columns; dropping it saves"
                            + " 32 kB and a write on every insert and non-HOT update: DROP INDEX CONCURRENTLY"
                            + " public.orders_user").withAdvice(new Advice("DROP INDEX CONCURRENTLY public.orders_user;",
                                    false, "run in database idxcheck; orders_user_status serves the same leading columns,"
                                            + " so no plan needs to be checked")));
        }
        assertThat(verdicts.get(3)).as("dropped").isEmpty();
    }

    @Test
    void indexesNotScannedForTheWindowAreUnusedButNeverUniqueOrPrimaryKeyIndexes() {
        List<List<Evaluation>> verdicts = judge(check("unused_index", "pgvigil.checks.unused-index.window", "3s"), indexes);
        assertThat(verdicts.get(0)).as("seen 0 s ago").isEmpty();
        DatabaseState second = state(indexes.get(1), "idxcheck");
        Instant firstVisit = state(indexes.get(0), "idxcheck").at();
        double idle = Duration.between(firstVisit, second.at()).toMillis() / 1000.0;
        assertThat(idle).isGreaterThanOrEqualTo(3.0);
        assertThat(verdicts.get(1)).extracting(Evaluation::subject)
                .containsExactlyInAnyOrder("idxcheck.public.orders_user", "idxcheck.public.orders_user_status");
        Evaluation unused = verdicts.get(1).stream().filter(e -> e.subject().equals("idxcheck.public.orders_user"))
                .findFirst().orElseThrow();
        assertThat(unused).isEqualTo(Evaluation.measured("idxcheck.public.orders_user", idle, Severity.INFO, 3.0,
                "index orders_user on public.orders in database idxcheck has not been scanned for "
                        + Duration.between(firstVisit, second.at()).toSeconds() + " s (no scan since pgvigil began"
                        + " watching it or its counters were reset, " + firstVisit + "); it takes 32 kB; each of the 2000"
                        + " row writes (inserts, deletes, non-HOT updates) public.orders has had since its statistics"
                        + " began also wrote to it, one of its 5 indexes. If no rare job (month-end report, standby"
                        + " queries: statistics are per server) needs it, drop it with DROP INDEX CONCURRENTLY"
                        + " public.orders_user"));
        // orders_user_status was scanned before the third visit: that visit is its last scan.
        assertThat(verdicts.get(2)).extracting(Evaluation::subject).containsExactly("idxcheck.public.orders_user");
        assertThat(verdicts.get(3)).as("orders_user dropped, orders_user_status scanned 1.3 s ago").isEmpty();
        assertThat(judge(check("unused_index"), indexes)).as("the default window, 7 days")
                .allSatisfy(window -> assertThat(window).isEmpty());
    }

    @Test
    void aScanReportedBeforeTheVisitThatSawItCountsFromThatVisit() {
        // last_idx_scan is the server's clock; the visit's is pgvigil's (moved forward by the test).
        DatabaseState third = state(indexes.get(2), "idxcheck");
        Index scanned = third.current().indexes().stream().filter(i -> i.name().equals("orders_user_status")).findFirst()
                .orElseThrow();
        assertThat(Instant.ofEpochMilli((long) (scanned.lastScanSeconds() * 1000))).isBefore(third.at());
        assertThat(third.idleSince(scanned)).isEqualTo(third.at());
    }

    @Test
    void mostlySequentialScansOfALargeTableOpenSeqScanHeavyAndTheIndexClearsIt() {
        List<Poll> polls = Recordings.polls(SEQ_SCANS, 18);
        List<List<Evaluation>> verdicts = judge(check("seq_scan_heavy"), polls);
        assertThat(verdicts.get(0)).as("no earlier visit").isEmpty();
        DatabaseState second = state(polls.get(1), "seqheavy");
        RelationsCollector.Table events = second.current().tables().get(0);
        assertThat(verdicts.get(1)).containsExactly(Evaluation.measured("seqheavy.public.events", 1.0, Severity.WARNING,
                0.5, String.format(Locale.ROOT, "table public.events in database seqheavy (%d live rows, 1.6 MiB) was read"
                        + " by 10 sequential scans of 20000 rows each on average, 100%% of its 10 scans in the last %.0f s."
                        + " its indexes lead with (id) in events_pkey: if the query filters on one of those columns, check"
                        + " with EXPLAIN why the planner does not use the index (a function or cast on the column, a type"
                        + " mismatch, a filter matching most rows); otherwise confirm with EXPLAIN (ANALYZE, BUFFERS) of the"
                        + " query that filters it (find it in /api/v1/statements) that it shows Seq Scan on events and add"
                        + " an index on its filter columns (composite or partial if the filter is)",
                        events.liveRows(), second.window().seconds())));
        assertThat(verdicts.get(2)).as("one sequential scan: fewer than min-scans").isEmpty();
        assertThat(judge(check("seq_scan_heavy", "pgvigil.checks.seq-scan-heavy.min-rows-per-scan", "20001"), polls).get(1)).as("scans of fewer rows").isEmpty();
    }

    @Test
    void aDatabaseWhoseVisitFailedKeepsItsFindingsHeld() {
        List<Poll> polls = Recordings.polls(SEQ_SCANS, 18);
        RelationHistory history = new RelationHistory();
        for (Poll poll : polls.subList(0, 2)) {
            DatabaseState s = state(poll, "seqheavy");
            history.visited("seqheavy", s.at(), s.current());
        }
        history.failed("seqheavy");
        Snapshot later = replaced(polls.get(1), history.relations(List.of()));
        assertThat(check("seq_scan_heavy").evaluate(later, Window.EMPTY).orElseThrow())
                .containsExactly(Evaluation.held("seqheavy.public.events"));
    }

    @Test
    void randomLookupsMissingSharedBuffersAreACriticalIndexHitRateAndHotLookupsAreNot() {
        List<Poll> polls = Recordings.polls(HIT_RATE, 18);
        List<List<Evaluation>> verdicts = judge(check("index_hit_rate"), polls);
        assertThat(verdicts.get(0)).as("no earlier visit").containsExactly(Evaluation.held("cold"));
        RelationWindow cold = state(polls.get(1), "cold").window();
        double ratio = (double) cold.idxBlksHit() / (cold.idxBlksHit() + cold.idxBlksRead());
        assertThat(verdicts.get(1)).containsExactly(Evaluation.measured("cold", ratio, Severity.CRITICAL, 0.95,
                String.format(Locale.ROOT, "%.2f%% of index block accesses in database cold were found in shared buffers"
                        + " over the last %.0f s (%d read from outside of %d); the indexes read (6.4 MiB) are larger than"
                        + " shared_buffers (1.0 MiB): they do not fit. Raise shared_buffers (with the memory to back it),"
                        + " or read less: drop unused and duplicate indexes, and make sure the hot lookups use the"
                        + " narrowest index", ratio * 100, cold.seconds(), cold.idxBlksRead(),
                        cold.idxBlksHit() + cold.idxBlksRead())));
        assertThat(ratio).isLessThan(0.95);
        RelationWindow hot = state(polls.get(2), "cold").window();
        assertThat(verdicts.get(2)).singleElement().satisfies(e -> {
            assertThat(e.value()).isEqualTo((double) hot.idxBlksHit() / (hot.idxBlksHit() + hot.idxBlksRead()))
                    .isGreaterThan(0.99);
            assertThat(e.severity()).isNull();
            assertThat(e.threshold()).isEqualTo(0.99);
        });
        assertThat(judge(check("index_hit_rate", "pgvigil.checks.index-hit-rate.min-block-accesses", "20000"), polls)
                .get(1)).as("fewer block accesses than min-block-accesses").isEmpty();
    }

    /**
     * The same recorded lookups on a server said to have 64 MiB of shared_buffers: the index (6.4 MiB)
     * would fit, yet the window read more blocks from outside than it holds, so some were read twice:
     * not a cache warming up but one that evicts them. The finding opens and says so.
     */
    @Test
    void indexesThatFitButAreReadAgainAreEvictedNotWarming() {
        List<Poll> polls = Recordings.polls(HIT_RATE, 18).stream().map(p -> new Poll(withSharedBuffers(p.snapshot(),
                64L << 20), p.collectors(), p.durationSeconds(), p.error())).toList();
        List<List<Evaluation>> verdicts = judge(check("index_hit_rate"), polls);
        RelationWindow cold = state(polls.get(1), "cold").window();
        long pages = cold.accessedIndexBytes() / 8192;
        assertThat(cold.idxBlksRead()).as("more misses than the index has pages").isGreaterThan(pages);
        assertThat(verdicts.get(1)).singleElement().satisfies(e -> {
            assertThat(e.severity()).isEqualTo(Severity.CRITICAL);
            assertThat(e.message()).contains(String.format(Locale.ROOT, "; the indexes read (6.4 MiB) fit in shared_buffers"
                    + " (64.0 MiB), yet %d blocks were read from outside in the last %d s", cold.idxBlksRead(),
                    Math.round(cold.seconds())))
                    .contains(String.format(Locale.ROOT, "more than the %d they hold: they are evicted by other reads", pages));
        });
    }

    /**
     * The recorded lookups' windows, with as few misses (400) as a warming cache would have (the index
     * holds 825 pages) and shared_buffers large enough for it: on a server that started just before
     * pgvigil's first window that is a cache warming up, no finding; on one that had been running for a
     * day when pgvigil started, pgvigil cannot tell first reads from evictions and the finding opens;
     * after a window whose indexes did not fit, the cache cannot be warming either.
     */
    @Test
    void fewMissesAreWarmingOnlyOnAServerPgvigilWatchedFromItsStart() {
        List<Poll> recorded = Recordings.polls(HIT_RATE, 18);
        double started = recorded.get(0).snapshot().server().startTimeSeconds();
        List<Poll> fresh = List.of(recorded.get(0), tuned(recorded.get(1), 64L << 20, started, 400, 9600));
        assertThat(judge(check("index_hit_rate"), fresh).get(1)).singleElement().satisfies(e -> {
            assertThat(e.value()).isLessThan(0.99);
            assertThat(e.severity()).isNull();
            assertThat(e.message()).contains("400 blocks were read from outside in the last").contains(
                    "no more than the 825 they hold: the cache is warming up, nothing to do");
        });
        List<Poll> old = List.of(recorded.get(0), tuned(recorded.get(1), 64L << 20, started - 86400, 400, 9600));
        assertThat(judge(check("index_hit_rate"), old).get(1)).singleElement().satisfies(e -> {
            assertThat(e.severity()).isEqualTo(Severity.WARNING);
            assertThat(e.message()).endsWith("; the indexes read (6.4 MiB) fit in shared_buffers (64.0 MiB): the misses"
                    + " are blocks read for the first time (a new index or query, or pgvigil began watching after the"
                    + " server started) or evicted by other reads; pgvigil cannot tell which. If the rate stays low,"
                    + " look for large sequential scans (seq_scan_heavy) and other databases' work");
        });
        List<Poll> overrun = List.of(recorded.get(0), tuned(recorded.get(1), 1L << 20, started, 5005, 9996),
                tuned(recorded.get(2), 64L << 20, started, 400, 9600));
        List<List<Evaluation>> verdicts = judge(check("index_hit_rate"), overrun);
        assertThat(verdicts.get(1).get(0).message()).contains("are larger than shared_buffers (1.0 MiB)");
        assertThat(verdicts.get(2)).singleElement().satisfies(e -> {
            assertThat(e.severity()).isEqualTo(Severity.WARNING);
            assertThat(e.message()).contains("or the indexes read earlier did not fit");
        });
    }

    /** A recorded poll with another shared_buffers, server start, and the cold database's window misses and hits. */
    private static Poll tuned(Poll poll, long sharedBuffers, double serverStart, long read, long hit) {
        Snapshot s = poll.snapshot();
        Relations relations = s.get(Relations.class).orElseThrow();
        DatabaseState d = relations.databases().get("cold");
        RelationWindow w = d.window();
        DatabaseState window = new DatabaseState(d.datname(), d.at(), d.fresh(), d.current(), new RelationWindow(w.seconds(),
                hit, read, w.heapBlksHit(), w.heapBlksRead(), w.tables(), w.accessedIndexBytes()), d.idleSince(),
                d.scanSeenAt());
        Map<String, DatabaseState> databases = new HashMap<>(relations.databases());
        databases.put("cold", window);
        io.pgvigil.target.ServerInfo v = s.server();
        Map<Class<?>, Object> results = new HashMap<>(s.results());
        results.put(Relations.class, new Relations(databases, relations.visits()));
        return new Poll(new Snapshot(s.at(), new io.pgvigil.target.ServerInfo(v.versionNum(), v.version(), v.inRecovery(),
                serverStart, v.extensions(), v.backendPid(), v.blockSize(), v.preloadLibraries(), v.userOid(),
                sharedBuffers), results), poll.collectors(), poll.durationSeconds(), poll.error());
    }

    private static Snapshot withSharedBuffers(Snapshot snapshot, long bytes) {
        io.pgvigil.target.ServerInfo s = snapshot.server();
        return new Snapshot(snapshot.at(), new io.pgvigil.target.ServerInfo(s.versionNum(), s.version(), s.inRecovery(),
                s.startTimeSeconds(), s.extensions(), s.backendPid(), s.blockSize(), s.preloadLibraries(), s.userOid(),
                bytes), snapshot.results());
    }

    private static DatabaseState state(Poll poll, String datname) {
        return poll.get(Relations.class).databases().get(datname);
    }

    private static Snapshot replaced(Poll poll, Relations relations) {
        Map<Class<?>, Object> results = new HashMap<>(poll.snapshot().results());
        results.put(Relations.class, relations);
        return new Snapshot(poll.snapshot().at(), poll.snapshot().server(), results);
    }
}
