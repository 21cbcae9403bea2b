package io.pgvigil.activity;

import static io.pgvigil.activity.LockWaitCheck.duration;
import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.activity.StatActivityCollector.PreparedTransaction;
import io.pgvigil.activity.StatActivityCollector.WaitEvent;
import io.pgvigil.core.Check;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;

/**
 * {@code lock_wait} on the polls LockWaitMatrixTest recorded: the whole message, word for word, for a
 * chain three deep (PostgreSQL 18 with {@code pg_locks.waitstart}, 13 without), a deadlock in
 * progress, a prepared transaction and an autovacuum worker at the head of a chain.
 */
class LockWaitCheckTest {

    /** A session queued on a row of a session idle in transaction, as a poll at {@code at} sees it. */
    private static Evaluation queued(LockWaitCheck check, long at, double statementAge, double lockWait) {
        Backend holder = new Backend(101, "shop", "app", "billing", "idle in transaction", false, 40.0, 40.0,
                "SELECT * FROM invoices WHERE id = $1 FOR UPDATE", "client backend", null, -1, "Client", "ClientRead",
                null, null, null);
        Backend waiter = new Backend(102, "shop", "app", "billing", "active", true, statementAge, statementAge,
                null, "client backend", null, -1, "Lock", "transactionid", List.of(101), null, lockWait);
        io.pgvigil.target.ServerInfo server = new io.pgvigil.target.ServerInfo(180000, "18.0", false, 1000.0,
                Map.of(), 42, 8192, "", 10);
        io.pgvigil.core.Snapshot snapshot = new io.pgvigil.core.Snapshot(java.time.Instant.parse("2026-12-02T00:00:00Z")
                .plusSeconds(at), server, Map.of(Activity.class,
                        new Activity(List.of(holder, waiter), 42, List.of(), List.of())));
        return check.evaluate(snapshot, io.pgvigil.core.Window.EMPTY).orElseThrow().get(0);
    }

    @Test
    void aSessionWhoseTransactionFailedHoldsOnlyASessionLevelAdvisoryLockAndIsToldSo() {
        Backend aborted = new Backend(101, "shop", "app", "billing", "idle in transaction (aborted)", false, 40.0, 40.0,
                null, "client backend", null, -1, "Client", "ClientRead", null, null, null);
        String advice = LockWaitCheck.advice(LockChains.Holder.backend(101), true, Map.of(101, aborted), Map.of());
        assertThat(advice).startsWith("Its transaction failed (idle in transaction (aborted)), which released the"
                + " transaction's locks; what it still holds is a session-level advisory lock").doesNotContain(
                        "holds its locks until it commits");
        Backend startup = new Backend(7, null, null, "", null, false, null, null, null, "startup", null, null,
                null, null, null, null, null);
        assertThat(LockWaitCheck.advice(LockChains.Holder.backend(7), false, Map.of(7, startup), Map.of()))
                .startsWith("It is the startup process of this standby").doesNotContain("pg_terminate_backend");
    }

    @Test
    void oneStatementWaitingOnIsOneWaitThroughAQueuesHandoffs() {
        LockWaitCheck check = new LockWaitCheck(io.pgvigil.testing.TestConfig.of(Map.of()));
        assertThat(queued(check, 0, 20, 20).value()).isEqualTo(20.0);
        // On 14+ waitstart is per lock: the holder ahead committed and the same UPDATE now waits on the next
        // transaction, 0.5 s ago by pg_locks; it has waited 35 s all the same.
        Evaluation handoff = queued(check, 15, 35, 0.5);
        assertThat(handoff.value()).isEqualTo(35.0);
        assertThat(handoff.severity()).isEqualTo(Severity.WARNING);
        // A new statement of the same backend (it began 2 s ago) is a new wait.
        assertThat(queued(check, 30, 2, 2).value()).isEqualTo(2.0);
    }

    static final String CHAIN = "LockWaitMatrixTest.aThreeDeepChainNamesItsRootBlockerAndClearsWhenItCommits";
    static final String CYCLE = "LockWaitMatrixTest.aDeadlockInProgressIsReportedAsACycleWithoutRoot";
    static final String HEADS = "LockWaitMatrixTest.aPreparedTransactionOrAnAutovacuumWorkerAtTheHeadIsNamedForWhatItIs";
    static final String TIMEOUT = " Give the waiting application a lock_timeout, so that its requests fail fast instead of"
            + " queueing.";

    private final Check lockWait = check("lock_wait", "pgvigil.checks.lock-wait.warning", "1s",
            "pgvigil.checks.lock-wait.critical", "2500ms");

    /**
     * Polls: nobody waiting; A (pdf-export) idle in transaction with B waiting on it and C on B, at
     * about 0 s, 1.2 s and 2.7 s; A committed (C waits on B, now idle in its transaction); all done.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(ints = {13, 18})
    void aChainThreeDeepIsJudgedOnItsLongestWaitAndNamesItsRootAndWhatToDo(int major) {
        List<Poll> polls = Recordings.polls(CHAIN, major);
        List<List<Evaluation>> verdicts = judge(lockWait, polls);
        assertThat(on("locks", verdicts.get(0)))
                .isEqualTo(Evaluation.measured("locks", 0.0, null, 1.0, "no session waits for a lock in database locks"));
        Severity[] expected = {null, Severity.WARNING, Severity.CRITICAL};
        for (int poll = 1; poll <= 3; poll++) {
            Activity activity = polls.get(poll).get(Activity.class);
            Backend a = app(activity, "pdf-export");
            Backend b = activity.backends().stream().filter(x -> x.blockedBy() != null && x.blockedBy().contains(a.pid()))
                    .findFirst().orElseThrow();
            Evaluation e = on("locks", verdicts.get(poll));
            assertThat(e.value()).isEqualTo(b.lockWaitSeconds());
            assertThat(e.severity()).isEqualTo(expected[poll - 1]);
            assertThat(e.message()).isEqualTo("2 sessions wait for a lock in database locks, the longest for "
                    + duration(b.lockWaitSeconds()) + " (pid " + b.pid() + ", on another transaction to end"
                    + " (a row it changed or locked, or a key it inserted))."
                    + " Root blocker: pid " + a.pid() + " (user postgres, application 'pdf-export', client 127.0.0.1:"
                    + a.clientPort() + ", idle in transaction for " + duration(a.stateAgeSeconds()) + ", transaction open "
                    + duration(a.xactAgeSeconds()) + ", query: SELECT balance FROM accounts WHERE id = 1 FOR UPDATE);"
                    + " it blocks 1 session directly and 2 in total, chain depth 2. It sits idle inside its transaction"
                    + " and holds its locks until it commits or rolls back: find the application that keeps it open"
                    + " (application name, client) and make it finish the transaction before slow work (a remote call,"
                    + " a PDF); as a last resort SELECT pg_terminate_backend(" + a.pid() + ") ends the session and rolls"
                    + " its transaction back. idle_in_transaction_session_timeout ends such sessions automatically."
                    + TIMEOUT);
        }
        // 14+: the wait began after its statement did. 13: the wait is counted from the start of the statement.
        for (Backend w : polls.get(1).get(Activity.class).backends()) {
            if (w.waitingOnLock()) {
                if (major >= 14) {
                    assertThat(w.lockWaitSeconds()).isLessThanOrEqualTo(w.stateAgeSeconds());
                } else {
                    assertThat(w.lockWaitSeconds()).isGreaterThanOrEqualTo(w.stateAgeSeconds());
                }
            }
        }

        Activity afterCommit = polls.get(4).get(Activity.class);
        Backend root = afterCommit.backends().stream().filter(x -> "idle in transaction".equals(x.state())).findFirst()
                .orElseThrow();
        Backend c = afterCommit.backends().stream().filter(Backend::waitingOnLock).findFirst().orElseThrow();
        assertThat(c.blockedBy()).containsExactly(root.pid());
        assertThat(on("locks", verdicts.get(4)).message()).startsWith("1 session waits for a lock in database locks,"
                + " the longest for " + duration(c.lockWaitSeconds()) + " (pid " + c.pid() + ", on another transaction to"
                + " end (a row it changed or locked, or a key it inserted)). Root blocker: pid " + root.pid()
                + " (user postgres, application 'checkout', client"
                + " 127.0.0.1:" + root.clientPort() + ", idle in transaction for ")
                .contains("; it blocks 1 session directly and 1 in total, chain depth 1. It sits idle");
        assertThat(on("locks", verdicts.get(5)).value()).isZero();
        // pgvigil's own database: judged, nobody waits there.
        assertThat(verdicts).allSatisfy(v -> assertThat(on("postgres", v).value()).isZero());
    }

    @Test
    void sessionsWaitingOnEachOtherAreADeadlockInProgressWithoutRoot() {
        List<Poll> polls = Recordings.polls(CYCLE, 18);
        Activity activity = polls.get(0).get(Activity.class);
        List<Backend> waiting = activity.backends().stream().filter(Backend::waitingOnLock).toList();
        assertThat(waiting).hasSize(2);
        Backend longest = waiting.get(0).lockWaitSeconds() >= waiting.get(1).lockWaitSeconds() ? waiting.get(0)
                : waiting.get(1);
        int low = Math.min(waiting.get(0).pid(), waiting.get(1).pid());
        int high = Math.max(waiting.get(0).pid(), waiting.get(1).pid());
        assertThat(on("locks", judge(lockWait, polls).get(0)).message()).isEqualTo("2 sessions wait for a lock in"
                + " database locks, the longest for " + duration(longest.lockWaitSeconds()) + " (pid " + longest.pid()
                + ", on another transaction to end (a row it changed or locked, or a key it inserted)). 2 sessions"
                + " (pid " + low + ", " + high + ") wait on each"
                + " other in a cycle: a deadlock in progress, which PostgreSQL's deadlock detector ends after"
                + " deadlock_timeout by cancelling one of them.");
    }

    @Test
    void aPreparedTransactionIsNamedByGidAndAnAutovacuumWorkerByWhatItIs() {
        List<Poll> polls = Recordings.polls(HEADS, 18);
        List<List<Evaluation>> verdicts = judge(lockWait, polls);

        Activity prepared = polls.get(0).get(Activity.class);
        Backend checkout = app(prepared, "checkout");
        PreparedTransaction batch = prepared.prepared().get(0);
        assertThat(on("locks", verdicts.get(0)).message()).isEqualTo("1 session waits for a lock in database locks,"
                + " the longest for " + duration(checkout.lockWaitSeconds()) + " (pid " + checkout.pid() + ", on another"
                + " transaction to end (a row it changed or locked, or a key it inserted))."
                        + " Root blocker: prepared transaction 'invoice-batch-7' (owner postgres,"
                + " database locks, prepared " + duration(batch.ageSeconds()) + " ago); it blocks 1 session directly"
                + " and 1 in total, chain depth 1. A prepared transaction (two-phase commit) keeps its locks until its"
                + " transaction manager finishes it; if that is gone, COMMIT PREPARED 'invoice-batch-7' or ROLLBACK"
                + " PREPARED 'invoice-batch-7' as its owner in database locks." + TIMEOUT);
        assertThat(on("locks", verdicts.get(1)).value()).isZero();

        Activity vacuum = polls.get(2).get(Activity.class);
        Backend migration = app(vacuum, "migration");
        Backend worker = vacuum.otherBackends().get(0);
        assertThat(on("locks", verdicts.get(2)).message()).isEqualTo("1 session waits for a lock in database locks,"
                + " the longest for " + duration(migration.lockWaitSeconds()) + " (pid " + migration.pid() + ", on a"
                + " table lock). Root blocker: pid " + worker.pid() + " (autovacuum worker, active for "
                + duration(worker.stateAgeSeconds()) + " (waiting on " + worker.waitEventType() + "/"
                + worker.waitEvent() + "), transaction open " + duration(worker.xactAgeSeconds())
                + ", query: autovacuum: VACUUM ANALYZE public.big); it blocks 1 session directly and 1 in total,"
                + " chain depth 1. Autovacuum gives way to a lock request unless it runs to prevent wraparound (its"
                + " query says so): let that one finish, cancelling it only starts it again." + TIMEOUT);
    }

    /** The wait-event series are capped: beyond the most frequent pairs, the rest count as "other" of their type. */
    @Test
    void waitEventPairsBeyondTheCapCountAsOtherOfTheirType() {
        List<Backend> backends = new ArrayList<>();
        String[][] waits = {{"Lock", "transactionid"}, {"Lock", "transactionid"}, {"Lock", "tuple"}, {"IO", "WalSync"},
                {"IO", "DataFileRead"}, {"LWLock", "WALWrite"}, {null, null}, {"Client", "ClientRead"}};
        for (int i = 0; i < waits.length; i++) {
            backends.add(new Backend(100 + i, "shop", "app", "web", i == waits.length - 1 ? "idle" : "active",
                    "Lock".equals(waits[i][0]), null, null, null, "client backend", null, -1, waits[i][0], waits[i][1],
                    null, null, null));
        }
        backends.add(new Backend(99, "postgres", "pgvigil", "pgvigil", "active", false, 0.0, 0.0, null,
                "client backend", null, -1, null, null, null, null, null));
        Activity activity = new Activity(backends, 99);
        assertThat(activity.activeByWaitEvent(50)).isEqualTo(Map.of(new WaitEvent("Lock", "transactionid"), 2,
                new WaitEvent("Lock", "tuple"), 1, new WaitEvent("IO", "WalSync"), 1, new WaitEvent("IO", "DataFileRead"), 1,
                new WaitEvent("LWLock", "WALWrite"), 1, new WaitEvent("", ""), 1));
        // The most frequent first, then by name: (Lock, transactionid) and ("", "") stay.
        assertThat(activity.activeByWaitEvent(2)).isEqualTo(Map.of(new WaitEvent("Lock", "transactionid"), 2,
                new WaitEvent("", ""), 1, new WaitEvent("IO", "other"), 2, new WaitEvent("LWLock", "other"), 1,
                new WaitEvent("Lock", "other"), 1));
    }

    private static Backend app(Activity activity, String application) {
        return activity.backends().stream().filter(b -> application.equals(b.applicationName())).findFirst()
                .orElseThrow(() -> new AssertionError("no " + application + " in " + activity.backends()));
    }
}
