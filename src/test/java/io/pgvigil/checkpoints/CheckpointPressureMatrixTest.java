package io.pgvigil.checkpoints;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpointer;
import io.pgvigil.checkpoints.StatWalCollector.Wal;
import io.pgvigil.core.CollectorStatus;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.metrics.MetricFamily;
import io.pgvigil.testing.MetricsDoc;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/**
 * {@code checkpoint_pressure} and the write-path metrics against real servers of every supported
 * major, one server per major for the class: {@code max_wal_size = 32MB} (a WAL-requested checkpoint
 * about every 16 MiB of WAL) and {@code checkpoint_timeout = 30s} (its minimum, so that timed
 * checkpoints happen within the test). The servers start together before the tests, and a small
 * write every second keeps their timed checkpoints real (PostgreSQL 18 counts only performed ones),
 * so the timed scenario's minute passes once for all majors, not once per major.
 *
 * <p>Order: the timed scenario first (its monitor has watched since the servers started), then the
 * WAL burst, whose requested checkpoints would otherwise land in the timed scenario's window.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CheckpointPressureMatrixTest {

    private static final Map<Integer, PgServer> SERVERS = new ConcurrentHashMap<>();
    /** Per major: the monitor of the timed scenario, polled once right after the server started. */
    private static final Map<Integer, TestMonitor> TIMED = new ConcurrentHashMap<>();
    /** Per major: the counters when the timed scenario's monitor took its first reading. */
    private static final Map<Integer, long[]> TIMED_BASELINE = new ConcurrentHashMap<>();
    private static ScheduledExecutorService ticker;

    @BeforeAll
    static void startServers() throws Exception {
        ExecutorService starts = Executors.newFixedThreadPool(3);
        List<Future<?>> started = new ArrayList<>();
        for (int major : PgServer.majors()) {
            started.add(starts.submit(() -> {
                PgServer pg = PgServer.start(major, Map.of("max_wal_size", "32MB", "min_wal_size", "32MB",
                        "checkpoint_timeout", "30s", "checkpoint_warning", "0"));
                SERVERS.put(major, pg);
                pg.execute("CREATE TABLE ticks (at timestamptz DEFAULT now())",
                        "CREATE TABLE burst (id int, pad text)");
                TestMonitor m = TestMonitor.watching(pg);
                try (Connection admin = pg.connect("postgres")) {
                    TIMED_BASELINE.put(major, counted(admin, major));
                    m.poll();
                    // One checkpoint requested by WAL volume: ~1 MiB at a time until PostgreSQL requests it.
                    long requested = counted(admin, major)[1];
                    for (int i = 0; i < 100 && counted(admin, major)[1] == requested; i++) {
                        pg.execute("INSERT INTO burst SELECT g, repeat('x', 1000) FROM generate_series(1, 1000) g");
                        if (major < 15) {
                            // Before 15 the checkpointer's counters reach the view through the statistics
                            // collector, up to 500 ms later: without the pause the loop writes on past the
                            // first request and a second one lands (seen on 13).
                            Thread.sleep(700);
                        }
                    }
                    assertThat(counted(admin, major)[1]).as("PostgreSQL %d requested a checkpoint", major)
                            .isEqualTo(requested + 1);
                }
                TIMED.put(major, m);
                return null;
            }));
        }
        for (Future<?> f : started) {
            f.get();
        }
        starts.shutdown();
        ticker = Executors.newSingleThreadScheduledExecutor();
        ticker.scheduleWithFixedDelay(() -> SERVERS.values().forEach(pg -> {
            try {
                pg.execute("INSERT INTO ticks DEFAULT VALUES");
            } catch (RuntimeException e) {
                // a server being stopped at the end
            }
        }), 0, 1, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopServers() {
        if (ticker != null) {
            ticker.shutdownNow();
        }
        TIMED.values().forEach(TestMonitor::close);
        SERVERS.values().forEach(PgServer::close);
    }

    /**
     * The counters as checkpoint_pressure counts them, read from the views as the superuser:
     * {checkpoints, requested}. 18+: num_done (performed); 13-17: timed + requested.
     */
    static long[] counted(Connection admin, int major) throws SQLException {
        String sql = major >= 18 ? "SELECT num_done, num_requested FROM pg_stat_checkpointer"
                : major == 17 ? "SELECT num_timed + num_requested, num_requested FROM pg_stat_checkpointer"
                : "SELECT checkpoints_timed + checkpoints_req, checkpoints_req FROM pg_stat_bgwriter";
        try (Statement st = admin.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    @Order(1)
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void timedCheckpointsWithOneRequestedDoNotOpenCheckpointPressure(int major) throws Exception {
        PgServer pg = SERVERS.get(major);
        TestMonitor m = TIMED.get(major);
        long[] base = TIMED_BASELINE.get(major);
        try (Connection admin = pg.connect("postgres")) {
            // Two timed checkpoints after the requested one: 1 of 3 requested. They come 30 s apart.
            awaitUpTo(Duration.ofSeconds(100), "two timed checkpoints after the requested one on " + major, () -> {
                long[] now = counted(admin, major);
                return now[0] - base[0] >= 3;
            });
            long[] before;
            long[] after;
            do { // a checkpoint landing between the poll and the reading would make the expectation stale
                before = counted(admin, major);
                m.advance(Duration.ofSeconds(15)).poll();
                after = counted(admin, major);
            } while (before[0] != after[0] || before[1] != after[1]);
            long checkpoints = Math.max(after[0] - base[0], after[1] - base[1]);
            long requested = after[1] - base[1];
            assertThat(requested).isEqualTo(1);
            assertThat(checkpoints).isGreaterThanOrEqualTo(3);
            Evaluation e = m.evaluation("checkpoint_pressure", "server").orElseThrow();
            assertThat(e.hold()).isFalse();
            assertThat(e.value()).isEqualTo((double) requested / checkpoints).isLessThan(0.5);
            assertThat(e.severity()).isNull();
            assertThat(e.message()).startsWith("1 of " + checkpoints + " checkpoints in the last ")
                    .contains(" were requested (" + Math.round(100.0 / checkpoints) + "%), " + (checkpoints - 1)
                            + " timed; max_wal_size is 32.0 MiB, checkpoint_timeout 30 s;")
                    .doesNotContain("raise max_wal_size");
            assertThat(m.finding("checkpoint_pressure", "server")).isEmpty();
            assertThat(m.scrape()).contains("pgvigil_check_value{check=\"checkpoint_pressure\",subject=\"server\"} "
                    + (double) requested / checkpoints + "\n");
        }
    }

    @Order(2)
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void walBurstOpensCheckpointPressureWhichClearsOnceTheWindowPasses(int major) throws Exception {
        PgServer pg = SERVERS.get(major);
        try (TestMonitor m = TestMonitor.watching(pg); Connection admin = pg.connect("postgres")) {
            m.poll();
            assertThat(m.evaluation("checkpoint_pressure", "server").orElseThrow().hold())
                    .as("no judgement before a second reading").isTrue();
            Checkpointer first = m.last().snapshot().get(Checkpointer.class).orElseThrow();
            java.time.Instant firstAt = m.last().snapshot().at();
            Long walBytesFirst = m.last().snapshot().get(Wal.class).map(Wal::bytes).orElse(null);
            long requestedBefore = counted(admin, major)[1];
            // The real story: a write burst whose WAL outruns max_wal_size, ~8 MiB a statement.
            for (int i = 0; i < 60 && counted(admin, major)[1] < requestedBefore + 3; i++) {
                pg.execute("INSERT INTO burst SELECT g, repeat('y', 1000) FROM generate_series(1, 8000) g");
            }
            assertThat(counted(admin, major)[1]).as("requested checkpoints on %d", major)
                    .isGreaterThanOrEqualTo(requestedBefore + 3);

            m.advance(Duration.ofSeconds(15)).poll();
            Checkpointer now = m.last().snapshot().get(Checkpointer.class).orElseThrow();
            CheckpointHistory.Reading a = CheckpointHistory.Reading.of(m.last().snapshot().at(), first, false);
            CheckpointHistory.Reading b = CheckpointHistory.Reading.of(m.last().snapshot().at(), now, false);
            long requested = b.requested() - a.requested();
            long checkpoints = Math.max(b.checkpoints() - a.checkpoints(), requested);
            assertThat(requested).isGreaterThanOrEqualTo(3);
            Finding f = m.finding("checkpoint_pressure", "server").orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isEqualTo((double) requested / checkpoints).isGreaterThanOrEqualTo(0.5);
            assertThat(f.threshold()).isEqualTo(0.5);
            long walWritten = now.walPositionBytes() - first.walPositionBytes();
            assertThat(walWritten).as("WAL of the burst: 3 requested checkpoints cross at least 2 segments").isGreaterThan(2 * 16L << 20);
            String span = CheckpointPressureCheck.duration(
                    Duration.between(firstAt, m.last().snapshot().at()).toNanos() / 1e9); // 15 s, plus the burst's own
            assertThat(f.message()).startsWith(requested + " of " + checkpoints + " checkpoints in the last " + span
                    + " were requested")
                    .contains("max_wal_size is 32.0 MiB, checkpoint_timeout 30 s; "
                            + CheckpointPressureCheck.bytes(walWritten) + " of WAL was written in that time. ")
                    .contains("WAL volume forces checkpoints before checkpoint_timeout: raise max_wal_size")
                    .contains("so max_wal_size should be at least ");

            String metrics = m.scrape();
            assertThat(metrics).contains("pg_checkpoints_requested_total " + (double) now.checkpoints().requested() + "\n",
                    "pg_checkpoints_timed_total " + (double) now.checkpoints().timed() + "\n",
                    "pg_settings_max_wal_size_bytes 3.3554432E7\n", "pg_settings_checkpoint_timeout_seconds 30.0\n",
                    "pgvigil_breach{check=\"checkpoint_pressure\",severity=\"warning\",subject=\"server\"} 1.0\n");
            assertThat(now.checkpoints().buffersWritten()).isGreaterThan(first.checkpoints().buffersWritten());
            assertWritePathMetrics(major, m, walBytesFirst);

            // An hour later with no requested checkpoint since: the burst has left the window.
            m.advance(Duration.ofMinutes(61)).poll();
            Evaluation later = m.evaluation("checkpoint_pressure", "server").orElseThrow();
            assertThat(later.hold()).isFalse();
            assertThat(later.value()).isEqualTo(0.0);
            assertThat(later.message()).startsWith("0 of ").contains("in the last 61 min were requested (0%)");
            assertThat(m.finding("checkpoint_pressure", "server")).isEmpty();

            // A statistics reset starts the history again: no judgement for that interval, no negative delta.
            pg.execute(major >= 17 ? "SELECT pg_stat_reset_shared('checkpointer')" : "SELECT pg_stat_reset_shared('bgwriter')");
            awaitUpTo(Duration.ofSeconds(20), "the reset", () -> counted(admin, major)[1] == 0);
            m.advance(Duration.ofSeconds(15)).poll();
            assertThat(m.evaluation("checkpoint_pressure", "server").orElseThrow().hold()).isTrue();
            m.advance(Duration.ofSeconds(15)).poll();
            assertThat(m.evaluation("checkpoint_pressure", "server").orElseThrow().hold()).isFalse();
        }
    }

    /** WAL, pg_stat_io and the checkpointer families: present where the version has them, documented, absent elsewhere. */
    private static void assertWritePathMetrics(int major, TestMonitor m, Long walBytesFirst) {
        String metrics = m.scrape();
        Map<String, CollectorStatus> collectors = m.last().collectors().stream()
                .collect(Collectors.toMap(CollectorStatus::collector, c -> c));
        assertThat(collectors.get(StatBgwriterCollector.KEY).success()).isTrue();
        if (major >= 14) {
            assertThat(collectors.get(StatWalCollector.KEY).success()).isTrue();
            long walBytes = m.last().snapshot().get(Wal.class).orElseThrow().bytes();
            assertThat(walBytes).as("pg_stat_wal.wal_bytes grew with the burst").isGreaterThan(walBytesFirst + (32L << 20));
            assertThat(metrics).contains("pg_wal_bytes_total " + (double) walBytes + "\n");
        } else {
            assertThat(collectors.get(StatWalCollector.KEY).enabled()).isFalse();
            assertThat(collectors.get(StatWalCollector.KEY).reason()).isEqualTo("pg_stat_wal is new in PostgreSQL 14 (this is "
                    + m.last().snapshot().server().version() + ")");
        }
        if (major >= 16) {
            assertThat(collectors.get(StatIoCollector.KEY).success()).isTrue();
            assertThat(metrics).containsPattern(
                    "pg_io_writes_total\\{backend_type=\"checkpointer\",context=\"normal\",object=\"relation\"} [1-9]");
            assertThat(metrics).containsPattern(
                    "pg_io_extends_total\\{backend_type=\"client backend\",context=\"(normal|bulkwrite)\",object=\"relation\"} [1-9]");
            assertThat(metrics).doesNotContain("pg_io_read_seconds_total"); // track_io_timing is off
        } else {
            assertThat(collectors.get(StatIoCollector.KEY).enabled()).isFalse();
            assertThat(collectors.get(StatIoCollector.KEY).reason()).startsWith("pg_stat_io is new in PostgreSQL 16");
        }
        // Exactly the documented families of the write path, less those this version does not have.
        Set<String> ours = new CheckpointMetrics().families().stream().map(MetricFamily::exposedName)
                .collect(Collectors.toCollection(TreeSet::new));
        Set<String> expected = new TreeSet<>(ours);
        CheckpointMetrics.absentOnADefaultPrimary(major).forEach(f -> expected.remove(f.exposedName()));
        Set<String> exported = new TreeSet<>(MetricsDoc.exported(metrics));
        exported.retainAll(ours);
        assertThat(exported).isEqualTo(expected);
        assertThat(MetricsDoc.documented()).containsAll(ours);
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static void awaitUpTo(Duration limit, String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(200);
        }
    }
}
