package io.pgvigil.activity;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import jakarta.inject.Singleton;

import io.pgvigil.activity.LockChains.Chain;
import io.pgvigil.activity.LockChains.Holder;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.activity.StatActivityCollector.PreparedTransaction;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;
import io.pgvigil.statements.SqlText;

/**
 * {@code lock_wait}: the longest time a client backend of each database has been waiting on a
 * heavyweight lock ({@code wait_event_type = 'Lock'}: rows, tables, transactions, advisory locks; not
 * LWLocks, I/O or {@code pg_sleep}). Subject: the database of the waiting sessions. The message names
 * the root blocker of its chain ({@link LockChains}) with what identifies it (pid, user,
 * application, client, state, transaction age, query) and what to do about it.
 *
 * <p>Per database rather than per server: two queues in two databases are two problems, usually of
 * two applications with two owners, and a single server-wide finding would name only one of them;
 * {@code pg_connections_waiting_on_lock} and {@code pgvigil_longest_lock_wait_seconds} are per
 * database too. Every database with a client backend is judged (0 when nobody waits there).
 */
@Singleton
public class LockWaitCheck extends ThresholdCheck {

    public static final String ID = "lock_wait";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.DATABASE,
            "longest wait of a session on a heavyweight lock (names the root blocker)",
            "Sessions queue behind a lock in database {{ $labels.subject }}", LockWaitCheck::new);

    public LockWaitCheck(PgvigilConfig config) {
        super(SPEC, config.checks().lockWait(), seconds(config.checks().lockWait().warning()),
                seconds(config.checks().lockWait().critical()));
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Activity> activity = snapshot.get(Activity.class);
        if (activity.isEmpty()) {
            return Optional.empty();
        }
        Activity a = activity.get();
        LockChains chains = LockChains.of(a);
        Map<Integer, Backend> byPid = new HashMap<>();
        a.otherBackends().forEach(b -> byPid.put(b.pid(), b));
        a.backends().forEach(b -> byPid.put(b.pid(), b));
        Map<String, PreparedTransaction> prepared = new HashMap<>();
        a.prepared().forEach(p -> prepared.put(p.gid(), p));

        Map<Integer, Double> waitedSeconds = carryWaits(snapshot.at(), a);
        Set<String> databases = new TreeSet<>();
        a.backends().stream().map(Backend::datname).filter(d -> d != null && !d.isEmpty()).forEach(databases::add);
        List<Evaluation> evaluations = new ArrayList<>();
        for (String db : databases) {
            List<Backend> waiting = a.backends().stream().filter(b -> db.equals(b.datname()) && b.waitingOnLock())
                    .toList();
            Optional<Backend> longest = waiting.stream()
                    .max(java.util.Comparator.comparingDouble(b -> waitedSeconds.getOrDefault(b.pid(), waited(b))));
            double value = longest.map(b -> waitedSeconds.getOrDefault(b.pid(), waited(b))).orElse(0.0);
            String message = longest.map(l -> describe(db, waiting, l, value, chains, byPid, prepared))
                    .orElse("no session waits for a lock in database " + db);
            evaluations.add(Evaluation.above(db, value, warning(), critical(), message));
        }
        return Optional.of(evaluations);
    }

    /**
     * A backend's waiting statement: when the statement began (the active state's start, as far as the
     * poll's clock and the server's agree: within a second is the same statement) and since when it waits.
     */
    private record WaitingStatement(Long startMillis, java.time.Instant since) {

        boolean sameStatement(Long otherStartMillis) {
            return startMillis == null ? otherStartMillis == null
                    : otherStartMillis != null && Math.abs(startMillis - otherStartMillis) <= 1000;
        }
    }

    /** Each waiting backend's statement, carried from poll to poll. */
    private Map<Integer, WaitingStatement> waitingSince = Map.of();

    /**
     * How long each waiting backend has waited, counted from the first poll that saw its statement
     * wait. On 14+ {@code pg_locks.waitstart} is per lock: a session queued on a row first waits on the
     * tuple lock, then, when the holder commits, starts a fresh wait on the next transaction ahead of it,
     * so the server's figure falls to 0 at every handoff of one queue and the finding would clear and
     * open again with it. The same statement waiting on is one wait. (13's figure, from the statement
     * start, does not reset.)
     */
    private synchronized Map<Integer, Double> carryWaits(java.time.Instant at, Activity a) {
        Map<Integer, WaitingStatement> next = new HashMap<>();
        Map<Integer, Double> waited = new HashMap<>();
        List<Backend> all = new ArrayList<>(a.backends());
        all.addAll(a.otherBackends());
        for (Backend b : all) {
            if (!b.waitingOnLock() || b.lockWaitSeconds() == null) {
                continue;
            }
            Long started = b.stateAgeSeconds() == null ? null
                    : at.minusNanos((long) (b.stateAgeSeconds() * 1e9)).toEpochMilli();
            java.time.Instant since = at.minusNanos((long) (b.lockWaitSeconds() * 1e9));
            double seconds = b.lockWaitSeconds();
            WaitingStatement before = waitingSince.get(b.pid());
            if (before != null && before.sameStatement(started) && before.since().isBefore(since)) {
                since = before.since();
                started = before.startMillis();
                // Within a second of the server's figure it is the same wait measured on two clocks: the
                // server's stands. Beyond that the statement's wait began before its current lock's.
                double carried = java.time.Duration.between(since, at).toNanos() / 1e9;
                seconds = carried > seconds + 1 ? carried : seconds;
            }
            next.put(b.pid(), new WaitingStatement(started, since));
            waited.put(b.pid(), seconds);
        }
        waitingSince = next;
        return waited;
    }

    private static double waited(Backend b) {
        return b.lockWaitSeconds() == null ? 0 : b.lockWaitSeconds();
    }

    /** The queue in {@code db}: how many wait, the longest, its root blocker(s) and what to do. */
    static String describe(String db, List<Backend> waiting, Backend longest, double longestSeconds, LockChains chains,
            Map<Integer, Backend> byPid, Map<String, PreparedTransaction> prepared) {
        StringBuilder m = new StringBuilder(String.format(Locale.ROOT,
                "%s wait%s for a lock in database %s, the longest for %s (pid %d, %s)", sessions(waiting.size()),
                waiting.size() == 1 ? "s" : "", db, duration(longestSeconds), longest.pid(), waitsOn(longest)));
        Set<Holder> here = waiting.stream().map(b -> Holder.backend(b.pid())).collect(Collectors.toSet());
        List<Chain> roots = chains.chains().stream().filter(c -> c.blocked().stream().anyMatch(here::contains)).toList();
        if (!roots.isEmpty()) {
            Chain first = roots.get(0);
            m.append(". Root blocker: ").append(holder(first.root(), db, byPid, prepared))
                    .append(String.format(Locale.ROOT, "; it blocks %s directly and %d in total, chain depth %d. ",
                            sessions(first.blockedDirectly()), first.blockedInTotal(), first.depth()))
                    .append(advice(first.root(), advisory(first, byPid), byPid, prepared));
            if (roots.size() > 1) {
                m.append(" Other root blockers: ").append(roots.subList(1, roots.size()).stream()
                        .map(c -> summary(c.root(), byPid) + " blocks " + c.blockedInTotal())
                        .collect(Collectors.joining(", "))).append('.');
            }
        }
        List<Integer> cycle = pids(chains.inCycle(), here);
        if (!cycle.isEmpty()) {
            m.append(roots.isEmpty() ? ". " : " ").append(String.format(Locale.ROOT,
                    "%s (pid %s) wait on each other in a cycle: a deadlock in progress, which PostgreSQL's deadlock"
                            + " detector ends after deadlock_timeout by cancelling one of them.",
                    sessions(cycle.size()), cycle.stream().map(String::valueOf).collect(Collectors.joining(", "))));
        }
        List<Integer> released = pids(chains.holderGone(), here);
        if (!released.isEmpty()) {
            m.append(roots.isEmpty() && cycle.isEmpty() ? ". " : " ").append(String.format(Locale.ROOT,
                    "The lock %s waited for was being released as the poll looked (pid %s).",
                    released.size() == 1 ? "one session" : released.size() + " sessions",
                    released.stream().map(String::valueOf).collect(Collectors.joining(", "))));
        }
        return m.toString();
    }

    private static List<Integer> pids(Set<Holder> holders, Set<Holder> here) {
        return holders.stream().filter(here::contains).map(Holder::pid).sorted().toList();
    }

    /** What the waiter waits on, in words, from the lock type pg_stat_activity names in wait_event. */
    private static String waitsOn(Backend b) {
        String what = b.waitEvent() == null ? "" : switch (b.waitEvent()) {
            case "transactionid" -> "another transaction to end (a row it changed or locked, or a key it inserted)";
            case "tuple" -> "a row that another session also waits for";
            case "relation" -> "a table lock";
            case "advisory" -> "an advisory lock";
            default -> "a lock on " + b.waitEvent();
        };
        return what.isEmpty() ? "on a lock" : "on " + what;
    }

    /** Everything that identifies the root: who, from where, doing what, for how long. */
    static String holder(Holder root, String db, Map<Integer, Backend> byPid, Map<String, PreparedTransaction> prepared) {
        if (root.isPrepared()) {
            PreparedTransaction p = root.gid() == null ? null : prepared.get(root.gid());
            if (p == null) {
                return "a prepared transaction (pg_prepared_xacts lists it)";
            }
            return String.format(Locale.ROOT, "prepared transaction '%s' (owner %s, database %s, prepared %s ago)",
                    p.gid(), p.owner(), p.database(), duration(p.ageSeconds()));
        }
        Backend b = byPid.get(root.pid());
        if (b == null) {
            return "pid " + root.pid() + " (no longer in pg_stat_activity when the poll looked: it may just have ended)";
        }
        List<String> parts = new ArrayList<>();
        if (!isClient(b)) {
            parts.add(b.backendType());
        }
        if (b.usename() != null) {
            parts.add("user " + b.usename());
        }
        if (isClient(b) || b.applicationName() != null && !b.applicationName().isEmpty()) {
            parts.add("application '" + (b.applicationName() == null ? "" : b.applicationName()) + "'");
        }
        if (isClient(b) || b.client() != null) {
            parts.add("client " + (b.client() == null ? "unknown" : b.client()));
        }
        if (b.datname() != null && !b.datname().equals(db)) {
            parts.add("database " + b.datname());
        }
        String state = b.state() == null ? "state unknown" : b.state();
        if (b.stateAgeSeconds() != null) {
            state += " for " + duration(b.stateAgeSeconds());
        }
        if ("active".equals(b.state()) && b.waitEventType() != null) {
            state += " (waiting on " + b.waitEventType() + "/" + b.waitEvent() + ")";
        }
        parts.add(state);
        parts.add(b.xactAgeSeconds() == null ? "no open transaction"
                : "transaction open " + duration(b.xactAgeSeconds()));
        parts.add("query: " + (b.query() == null ? "(not read)" : SqlText.redact(b.query(), 200)));
        return "pid " + b.pid() + " (" + String.join(", ", parts) + ")";
    }

    private static String summary(Holder root, Map<Integer, Backend> byPid) {
        Backend b = root.isPrepared() ? null : byPid.get(root.pid());
        if (b == null) {
            return root.toString();
        }
        return "pid " + b.pid() + " (" + (isClient(b) ? "user " + b.usename() + ", application '" + b.applicationName()
                + "'" : b.backendType()) + ", " + b.state() + ")";
    }

    /** Whether a session the root blocks directly waits for an advisory lock (pg_advisory_lock and the like). */
    private static boolean advisory(Chain chain, Map<Integer, Backend> byPid) {
        return chain.direct().stream().map(h -> byPid.get(h.pid()))
                .anyMatch(b -> b != null && "advisory".equals(b.waitEvent()));
    }

    /**
     * What to do, from what the root is: a prepared transaction, a background process, or a session
     * by its state; and whether what it holds is an advisory lock, which a session-level
     * {@code pg_advisory_lock} keeps beyond the end of any transaction.
     */
    static String advice(Holder root, boolean advisory, Map<Integer, Backend> byPid,
            Map<String, PreparedTransaction> prepared) {
        String timeout = " Give the waiting application a lock_timeout, so that its requests fail fast instead of"
                + " queueing.";
        if (root.isPrepared()) {
            PreparedTransaction p = root.gid() == null ? null : prepared.get(root.gid());
            String gid = p == null ? "<gid>" : "'" + p.gid() + "'";
            return "A prepared transaction (two-phase commit) keeps its locks until its transaction manager finishes it;"
                    + " if that is gone, COMMIT PREPARED " + gid + " or ROLLBACK PREPARED " + gid + " as its owner"
                    + (p == null ? "" : " in database " + p.database()) + "." + timeout;
        }
        Backend b = byPid.get(root.pid());
        if (b == null) {
            return "Look again at the next poll." + timeout;
        }
        int pid = b.pid();
        if (!isClient(b)) {
            if ("startup".equals(b.backendType())) {
                return "It is the startup process of this standby, replaying locks taken on the primary (an"
                        + " ACCESS EXCLUSIVE lock of a DDL, a VACUUM truncating a table): queries here wait until replay"
                        + " passes it, or are cancelled after max_standby_streaming_delay. Nothing to end here: look at"
                        + " what runs on the primary." + timeout;
            }
            if (b.backendType() != null && b.backendType().startsWith("autovacuum")) {
                return "Autovacuum gives way to a lock request unless it runs to prevent wraparound"
                        + " (its query says so): let that one finish, cancelling it only starts it again." + timeout;
            }
            return "It is a " + b.backendType() + " process, not a client session: see what it is doing before"
                    + " ending it (SELECT pg_terminate_backend(" + pid + "))." + timeout;
        }
        if ("idle in transaction (aborted)".equals(b.state())) {
            // An aborted transaction has already released its locks and its transaction ID; only a
            // session-level advisory lock outlives that.
            return "Its transaction failed (idle in transaction (aborted)), which released the transaction's locks;"
                    + " what it still holds is a session-level advisory lock (pg_advisory_lock): the application must"
                    + " roll back and call pg_advisory_unlock; SELECT pg_terminate_backend(" + pid + ") releases it."
                    + timeout;
        }
        if (b.idleInTransaction()) {
            return "It sits idle inside its transaction and holds its locks until it commits or rolls back: find the"
                    + " application that keeps it open (application name, client) and make it finish the transaction"
                    + " before slow work (a remote call, a PDF); as a last resort SELECT pg_terminate_backend(" + pid
                    + ") ends the session and rolls its transaction back. idle_in_transaction_session_timeout ends such"
                    + " sessions automatically."
                    + (advisory ? " A session-level advisory lock (pg_advisory_lock) outlives the transaction: only"
                            + " pg_advisory_unlock or the end of the session releases it." : "")
                    + timeout;
        }
        if ("idle".equals(b.state())) {
            return "It is idle outside any transaction, so what it holds is a session-level advisory lock"
                    + " (pg_advisory_lock): the application must call pg_advisory_unlock (or take"
                    + " pg_advisory_xact_lock, released at commit); SELECT pg_terminate_backend(" + pid
                    + ") releases it." + timeout;
        }
        if (advisory) {
            return "It holds an advisory lock: one taken with pg_advisory_lock stays until the application calls"
                    + " pg_advisory_unlock or the session ends, one taken with pg_advisory_xact_lock until its"
                    + " transaction ends; SELECT pg_terminate_backend(" + pid + ") releases both." + timeout;
        }
        return "It is running a statement and holds its transaction's locks until that transaction ends: if the"
                + " statement should not take this long, SELECT pg_cancel_backend(" + pid + ") cancels it (its"
                + " transaction then fails and lets go of its locks, unless the application runs the statement under"
                + " a savepoint), SELECT pg_terminate_backend(" + pid + ") ends the session." + timeout;
    }

    private static boolean isClient(Backend b) {
        return b.backendType() == null || StatActivityCollector.CLIENT_BACKEND.equals(b.backendType());
    }

    private static String sessions(int n) {
        return n == 1 ? "1 session" : n + " sessions";
    }

    /** "1.4 s", "42 s". */
    static String duration(double seconds) {
        return seconds < 10 ? String.format(Locale.ROOT, "%.1f s", seconds) : String.format(Locale.ROOT, "%.0f s", seconds);
    }
}
