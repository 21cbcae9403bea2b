package io.pgvigil.horizon;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.horizon.XminHorizonCollector.Holder;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;
import io.pgvigil.horizon.XminHorizonCollector.Kind;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;
import io.pgvigil.testing.Replay;

/**
 * {@code xmin_horizon} on what XminHorizonMatrixTest recorded on PostgreSQL 18 (a server with
 * {@code autovacuum_freeze_max_age = 100000}, warning lowered to 1,000 as there): the exact message
 * for every kind of holder, the critical threshold read from the server, one finding while the
 * holder changes, and the series.
 */
class XminHorizonCheckTest {

    static final String PREPARED = "XminHorizonMatrixTest.forgottenPreparedTransactionOpensXminHorizonGoesCriticalPastFreezeMaxAgeAndRollbackPreparedClears";
    static final String SLOT = "XminHorizonMatrixTest.abandonedLogicalSlotOpensXminHorizonWithItsCatalogXminAndDroppingItClears";
    static final String SNAPSHOT = "XminHorizonMatrixTest.sessionIdleInARepeatableReadTransactionHoldsItsSnapshotUntilItCommits";
    static final String STANDBY = "XminHorizonMatrixTest.standbyFeedbackOpensXminHorizonNamingTheStandbyAndEndingItsQueryClears";
    static final String HANDOVER = "XminHorizonMatrixTest.whenTheOldestHolderLetsGoTheNextKeepsTheSameFindingOpen";

    static final String NOTHING = "nothing holds the xmin horizon back: no backend has a snapshot or a transaction ID,"
            + " and no prepared transaction, replication slot or standby holds one";

    private static Check lowWarning(String... more) {
        String[] keys = new String[more.length + 2];
        keys[0] = "pgvigil.checks.xmin-horizon.warning";
        keys[1] = "1000";
        System.arraycopy(more, 0, keys, 2, more.length);
        return check("xmin_horizon", keys);
    }

    private static Evaluation on(List<Poll> polls, int poll) {
        return judge(lowWarning(), polls).get(poll - 1).get(0);
    }

    @Test
    void aForgottenPreparedTransactionIsNamedWithTheStatementsThatResolveItAndIsCriticalPastFreezeMaxAge() {
        List<Poll> polls = Recordings.polls(PREPARED, 18);
        String resolve = " Vacuum cannot remove the rows deleted after it, nor freeze past it in database postgres (and the"
                + " shared catalogs), and a prepared transaction"
                + " stays, through disconnects and restarts, until it is resolved: resolve it with the transaction"
                + " manager that prepared it or, connected to database postgres as postgres or a superuser, run COMMIT"
                + " PREPARED 'order-42' or ROLLBACK PREPARED 'order-42'";
        assertThat(judge(lowWarning(), polls)).containsExactly(
                List.of(Evaluation.measured("server", 1101, Severity.WARNING, 1000,
                        "the xmin horizon is 1,101 transactions behind; held by prepared transaction 'order-42' (owner"
                                + " postgres, database postgres, prepared at 2026-12-02T06:32:01Z (0 s ago))." + resolve)),
                List.of(Evaluation.measured("server", 101101, Severity.CRITICAL, 100000,
                        "the xmin horizon is 101,101 transactions behind, past autovacuum_freeze_max_age (100,000):"
                                + " anti-wraparound autovacuums cannot freeze beyond it and transaction-ID wraparound"
                                + " comes closer; held by prepared transaction 'order-42' (owner postgres, database"
                                + " postgres, prepared at 2026-12-02T06:32:01Z (1 s ago))." + resolve)),
                List.of(Evaluation.measured("server", 0, null, 1000, NOTHING)));
    }

    @Test
    void anAbandonedLogicalSlotIsNamedWithItsCatalogXminAndHowToDropIt() {
        assertThat(on(Recordings.polls(SLOT, 18), 1)).isEqualTo(Evaluation.measured("server", 1100, Severity.WARNING, 1000,
                "the xmin horizon is 1,100 transactions behind; held by logical replication slot 'abandoned_cdc' of"
                        + " database postgres (inactive since 2026-12-02T06:40:13Z (0 s ago)) with its catalog_xmin."
                        + " Vacuum cannot remove dead rows of the system catalogs after it, and no database's"
                        + " datfrozenxid can advance past it (transaction-ID wraparound). If nothing will read from it"
                        + " again, drop it: SELECT pg_drop_replication_slot('abandoned_cdc'); otherwise start its"
                        + " consumer, which moves catalog_xmin as it confirms changes"));
    }

    @Test
    void aSessionIdleInTransactionIsNamedWithItsQueryLiteralsMasked() {
        assertThat(on(Recordings.polls(SNAPSHOT, 18), 1)).isEqualTo(Evaluation.measured("server", 1100, Severity.WARNING,
                1000, "the xmin horizon is 1,100 transactions behind; held by client backend pid 6044 (user postgres,"
                        + " application 'nightly-report', client 127.0.0.1, database postgres, idle in transaction;"
                        + " transaction open since 2026-12-02T06:35:18Z (0 s ago)) with its snapshot; query: SELECT"
                        + " count(*) FROM pg_class WHERE relname <> '…'. Vacuum cannot remove the rows deleted after"
                        + " it, nor freeze past it in database postgres (and the shared catalogs). The session is idle in its transaction: the application must COMMIT"
                        + " or ROLLBACK; to end it now, SELECT pg_terminate_backend(6044)"
                        + " (idle_in_transaction_session_timeout ends such sessions by itself)"));
    }

    /** A standby's feedback without a slot, then through a physical slot, active and then left behind. */
    @Test
    void aStandbysFeedbackIsNamedByTheStandbyOrByItsSlot() {
        List<Poll> polls = Recordings.polls(STANDBY, 18);
        String standbyAdvice = "A long query or transaction on that standby holds it: end it there, or set"
                + " hot_standby_feedback = off on the standby (its queries may then be cancelled by recovery conflicts)";
        assertThat(on(polls, 1)).isEqualTo(Evaluation.measured("server", 1102, Severity.WARNING, 1000,
                "the xmin horizon is 1,102 transactions behind; held by standby 'standby_h' (client 127.0.0.1, WAL"
                        + " sender pid 11077) through hot_standby_feedback. Vacuum cannot remove the rows deleted after"
                        + " it, nor freeze past it. " + standbyAdvice));
        assertThat(on(polls, 9)).isEqualTo(Evaluation.measured("server", 1100, Severity.WARNING, 1000,
                "the xmin horizon is 1,100 transactions behind; held by physical replication slot 'standby_h_slot'"
                        + " (active, pid 11103) with its xmin. Vacuum cannot remove the rows deleted after it, nor"
                        + " freeze past it. It is the hot_standby_feedback of the standby that uses the slot: a long"
                        + " query or transaction on that standby holds it; end it there, or set hot_standby_feedback ="
                        + " off on the standby (its queries may then be cancelled by recovery conflicts)"));
        assertThat(on(polls, 10)).isEqualTo(Evaluation.measured("server", 1100, Severity.WARNING, 1000,
                "the xmin horizon is 1,100 transactions behind; held by physical replication slot 'standby_h_slot'"
                        + " (inactive since 2026-12-02T06:38:24Z (0 s ago)) with its xmin. Vacuum cannot remove the"
                        + " rows deleted after it, nor freeze past it. It is the hot_standby_feedback of the standby"
                        + " that uses the slot: no standby is connected and its last feedback stays; if it will not"
                        + " come back, drop the slot: SELECT pg_drop_replication_slot('standby_h_slot')"));
        assertThat(on(polls, polls.size())).isEqualTo(Evaluation.measured("server", 0, null, 1000, NOTHING));
    }

    /**
     * The slot holds it furthest back, then (dropped) the prepared transaction: one finding all along,
     * its message following the holder; it clears when the last one lets go. The series per kind follow.
     */
    @Test
    void theFindingStaysOneWhileTheHolderChangesKindAndItsSeriesFollow() {
        List<Poll> polls = Recordings.polls(HANDOVER, 18);
        try (Replay replay = Replay.withConfig("pgvigil.checks.xmin-horizon.warning", "1000")) {
            replay.poll(polls.get(0));
            Finding slot = replay.finding("xmin_horizon", "server").orElseThrow();
            assertThat(slot.message()).contains("held by logical replication slot 'old_subscriber'")
                    .endsWith("Also holding it: prepared transaction 'order-9' (1,101 behind)");
            assertThat(samples(replay.scrape(), "pgvigil_xmin_horizon_")).containsExactlyInAnyOrder(
                    "pgvigil_xmin_horizon_age_transactions{holder=\"backend\"} 0.0",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"prepared_transaction\"} 1101.0",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"replication_slot\"} 1601.0",
                    "pgvigil_xmin_horizon_age_transactions{holder=\"standby\"} 0.0",
                    "pgvigil_xmin_horizon_holders{holder=\"backend\"} 0.0",
                    "pgvigil_xmin_horizon_holders{holder=\"prepared_transaction\"} 1.0",
                    "pgvigil_xmin_horizon_holders{holder=\"replication_slot\"} 1.0",
                    "pgvigil_xmin_horizon_holders{holder=\"standby\"} 0.0");

            replay.poll(polls.get(1));
            Finding prepared = replay.finding("xmin_horizon", "server").orElseThrow();
            assertThat(prepared.since()).isEqualTo(slot.since());
            assertThat(prepared.severity()).isEqualTo(Severity.WARNING);
            assertThat(prepared.value()).isEqualTo(1101);
            assertThat(prepared.message()).contains("held by prepared transaction 'order-9'").doesNotContain("old_subscriber");
            assertThat(samples(replay.scrape(), "pgvigil_xmin_horizon_age_transactions")).contains(
                    "pgvigil_xmin_horizon_age_transactions{holder=\"replication_slot\"} 0.0");

            replay.poll(polls.get(2));
            assertThat(replay.finding("xmin_horizon", "server")).isEmpty();
            assertThat(samples(replay.scrape(), "pgvigil_check_value{check=\"xmin_horizon\"")).containsExactly(
                    "pgvigil_check_value{check=\"xmin_horizon\",subject=\"server\"} 0.0");
        }
    }

    /** Unset, critical is the server's autovacuum_freeze_max_age, known (and exported) from the first poll. */
    @Test
    void theCriticalThresholdIsTheServersFreezeMaxAgeUnlessConfigured() {
        List<Poll> polls = Recordings.polls(PREPARED, 18);
        Check byServer = check("xmin_horizon");
        assertThat(byServer.thresholds()).as("before any poll").isEqualTo(Map.of(Severity.WARNING, 5.0e7));
        assertThat(byServer.serverThreshold(Severity.CRITICAL)).isEqualTo("autovacuum_freeze_max_age");
        assertThat(byServer.serverThreshold(Severity.WARNING)).isNull();
        judge(byServer, polls.subList(0, 1));
        assertThat(byServer.thresholds()).isEqualTo(Map.of(Severity.WARNING, 5.0e7, Severity.CRITICAL, 100000.0));

        Check configured = lowWarning("pgvigil.checks.xmin-horizon.critical", "5000");
        assertThat(configured.thresholds()).isEqualTo(Map.of(Severity.WARNING, 1000.0, Severity.CRITICAL, 5000.0));
        assertThat(configured.serverThreshold(Severity.CRITICAL)).isNull();
        List<List<Evaluation>> verdicts = judge(configured, polls);
        assertThat(verdicts.get(1).get(0).severity()).isEqualTo(Severity.CRITICAL);
        assertThat(verdicts.get(1).get(0).threshold()).isEqualTo(5000);
        assertThat(verdicts.get(1).get(0).message()).as("the server's setting, whatever the configured critical")
                .contains("past autovacuum_freeze_max_age (100,000)");

        try (Replay replay = Replay.withConfig()) {
            replay.poll(polls.get(0));
            assertThat(samples(replay.scrape(), "pgvigil_check_threshold{check=\"xmin_horizon\""))
                    .containsExactlyInAnyOrder(
                            "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"critical\"} 100000.0",
                            "pgvigil_check_threshold{check=\"xmin_horizon\",severity=\"warning\"} 5.0E7");
        }
    }

    @Test
    void aGidIsQuotedAsAnSqlLiteralInTheStatementsToRun() {
        Holder prepared = new Holder(Kind.PREPARED_TRANSACTION, 60_000_000, 1, "transaction", null, null, "o'brien",
                "app", null, null, "shop", Instant.parse("2025-05-01T10:00:00.5Z"), 11520.0, null, null, null);
        assertThat(XminHorizonCheck.message(new Horizon(200_000_000, List.of(prepared))))
                .startsWith("the xmin horizon is 60,000,000 transactions behind; held by prepared transaction 'o'brien'"
                        + " (owner app, database shop, prepared at 2025-05-01T10:00:00Z (3.2 h ago))")
                .endsWith("run COMMIT PREPARED 'o''brien' or ROLLBACK PREPARED 'o''brien'");
    }

    @Test
    void aBackendWithoutClientOrStateIsNamedByWhatIsKnown() {
        Holder worker = new Holder(Kind.BACKEND, 70_000_000, 3, "backend_xmin", 4242, "background worker", "", "app",
                null, null, "shop", null, null, null, null, null);
        assertThat(XminHorizonCheck.message(new Horizon(200_000_000, List.of(worker)))).isEqualTo(
                "the xmin horizon is 70,000,000 transactions behind; held by background worker pid 4242 (user app,"
                        + " database shop) with its snapshot. Vacuum cannot remove the rows deleted after it, nor"
                        + " freeze past it in database shop (and the shared catalogs). If it should not run that long, end it: SELECT pg_terminate_backend(4242)");
    }

    /** The sample lines starting with {@code prefix}. */
    static List<String> samples(String scrape, String prefix) {
        return scrape.lines().filter(line -> line.startsWith(prefix)).toList();
    }

    @Test
    void transactionsAndDurationsReadAsPeopleWriteThem() {
        assertThat(Unit.TRANSACTIONS.format(50_000_000)).isEqualTo("50 million");
        assertThat(Unit.TRANSACTIONS.format(1_234_567)).isEqualTo("1,234,567");
        assertThat(XminHorizonCheck.ago(45)).isEqualTo("45 s");
        assertThat(XminHorizonCheck.ago(720)).isEqualTo("12 min");
        assertThat(XminHorizonCheck.ago(11520)).isEqualTo("3.2 h");
        assertThat(XminHorizonCheck.ago(388800)).isEqualTo("4.5 days");
    }
}
