package io.pgvigil.pgbouncer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Singleton;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;
import io.pgvigil.pgbouncer.Poolers.Database;
import io.pgvigil.pgbouncer.Poolers.Pool;
import io.pgvigil.pgbouncer.Poolers.Reading;

/**
 * {@code pooler_saturation}: per PgBouncer pool, how long the oldest waiting client has waited for a
 * server connection ({@code SHOW POOLS} {@code maxwait}). Subject: {@code pgbouncer/database/user}. A
 * check of its own rather than {@code pool_saturation} with another subject: that one measures
 * PostgreSQL's connection slots as a ratio and is judged only when PostgreSQL answers; this one is a
 * time, read from PgBouncer, and is judged whenever PgBouncer answers — the two can disagree, which is
 * the point (20 busy server connections look healthy to PostgreSQL while 500 clients queue).
 */
@Singleton
public class PoolerSaturationCheck extends ThresholdCheck {

    public static final String ID = "pooler_saturation";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.POOL,
            "longest time a client of a PgBouncer pool has waited for a server connection",
            "Clients wait for a server connection in PgBouncer pool {{ $labels.subject }}", PoolerSaturationCheck::new)
            .heldAtMost(PoolerSaturationCheck.MAX_HELD_POLLS);

    /**
     * Polls in a row a pool's finding is held while its PgBouncer cannot be read (a restart, one slow
     * answer): one incident opens once; a PgBouncer down for longer has its own alert, and the finding goes.
     */
    static final int MAX_HELD_POLLS = 3;

    /** PgBouncer's own console appears in SHOW POOLS; its clients are admins, never queued behind PostgreSQL. */
    static final String ADMIN_DATABASE = "pgbouncer";

    private final double longTransaction;
    private final double lockWait;
    private final boolean pgbouncerConfigured;
    /** PgBouncer name → the pools judged at its last successful reading, held while it cannot be read. Poll thread only. */
    private final Map<String, Set<String>> lastPools = new HashMap<>();

    public PoolerSaturationCheck(PgvigilConfig config) {
        super(SPEC, config.checks().poolerSaturation(), seconds(config.checks().poolerSaturation().warning()),
                seconds(config.checks().poolerSaturation().critical()));
        this.longTransaction = seconds(config.checks().longTransaction().warning());
        this.lockWait = seconds(config.checks().lockWait().warning());
        this.pgbouncerConfigured = config.pgbouncer().url().isPresent();
    }

    /** Off without a PgBouncer to watch ({@code pgvigil.pgbouncer.url}): no thresholds, no evaluation, nothing to suspend. */
    @Override
    public boolean enabled() {
        return super.enabled() && pgbouncerConfigured;
    }

    /**
     * {@code maxwait} is the queue at the poll's instant: a pool whose clients queue in bursts can read 0
     * at one poll and 3 s at the next. A finding therefore clears only after {@code clear-after}
     * consecutive polls without a wait over the threshold, so that one incident of bursts opens once and
     * clears once.
     */
    @Override
    public boolean clearsByMargin() {
        return false;
    }

    @Override
    public boolean needsTarget() {
        return false;
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Poolers> poolers = snapshot.get(Poolers.class);
        if (poolers.isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        boolean judged = false;
        for (Reading reading : poolers.get().readings()) {
            if (!reading.up()) {
                // Not measured, not fine either: the pools' findings are held, as they were (CheckSpec.maxHeld).
                lastPools.getOrDefault(reading.name(), Set.of()).forEach(subject -> evaluations.add(Evaluation.held(subject)));
                continue;
            }
            judged = true;
            Set<String> subjects = new HashSet<>();
            lastPools.put(reading.name(), subjects);
            for (Pool pool : reading.pools()) {
                if (pool.database().equals(ADMIN_DATABASE) || pool.maxWaitSeconds() == null) {
                    continue;
                }
                String subject = reading.name() + "/" + pool.database() + "/" + pool.user();
                subjects.add(subject);
                evaluations.add(Evaluation.above(subject, pool.maxWaitSeconds(), warning(), critical(),
                        message(reading, pool, holders(snapshot, serverDatabase(reading, pool)), warning(),
                                clearing().after())));
            }
        }
        return judged || !evaluations.isEmpty() ? Optional.of(evaluations) : Optional.empty();
    }

    /**
     * "3 clients waiting, the oldest for 2.4 s; 20 of 20 server connections ... raise ...". The advice
     * follows why PgBouncer queues: a paused database, {@code max_db_connections} reached, a pool that
     * cannot open the server connections it may have (PostgreSQL refusing or down, or
     * {@code max_user_connections}), or a full pool; raising {@code pool_size} is advised only for the last.
     *
     * @param warning    the warning threshold in seconds: below it no client waits long enough to matter now
     * @param clearAfter clean polls after which a finding held open clears
     */
    static String message(Reading reading, Pool pool, String holders, double warning, int clearAfter) {
        Database db = reading.database(pool.database());
        long waiting = pool.clientsWaiting() == null ? 0 : pool.clientsWaiting();
        long inUse = n(pool.serversActive()) + n(pool.serversUsed()) + n(pool.serversTested()) + n(pool.serversLogin());
        long open = pool.servers() - n(pool.serversLogin());
        Long poolSize = db == null ? null : db.poolSize();
        Long maxDb = db == null ? null : db.maxConnections();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "pool %s/%s of PgBouncer %s (%s mode): %d client(s) waiting, the oldest for %.1f s; %d active client(s);"
                        + " %d server connection(s) in use and %d idle, pool_size %s, max_db_connections %s",
                pool.database(), pool.user(), reading.name(), pool.poolMode() == null ? "unknown" : pool.poolMode(),
                waiting, pool.maxWaitSeconds(), n(pool.clientsActive()), inUse, n(pool.serversIdle()),
                poolSize == null ? "unknown" : poolSize, maxDb == null ? "unknown" : maxDb == 0 ? "unlimited" : maxDb));
        if (pool.maxWaitSeconds() < warning) {
            // A finding held open after the queue drained: advice about a queue that is gone would mislead.
            return sb.append(String.format(Locale.ROOT, ". No client waits %.1f s or longer now: the finding clears after"
                    + " %d consecutive poll(s) like this one", warning, clearAfter)).toString();
        }
        if (db != null && Boolean.TRUE.equals(db.paused())) {
            sb.append(". The database ").append(pool.database()).append(" is paused in PgBouncer (PAUSE): its clients wait"
                    + " until an admin runs RESUME ").append(pool.database()).append(" on PgBouncer's console");
        } else if (maxDb != null && maxDb > 0 && db.currentConnections() != null && db.currentConnections() >= maxDb) {
            sb.append(". The database's max_db_connections is reached (").append(db.currentConnections())
                    .append(" server connections across its pools): raise it if PostgreSQL has slots to spare"
                            + " (max_connections; see pool_saturation), or shorten the transactions that hold them");
        } else if (poolSize != null && open < poolSize) {
            sb.append(String.format(Locale.ROOT, ". Only %d of %d server connection(s) are open", open, poolSize));
            if (n(pool.serversLogin()) > 0) {
                sb.append(String.format(Locale.ROOT, " and %d still logging in", n(pool.serversLogin())));
            }
            sb.append(": PgBouncer cannot get more, so raising pool_size would not help. PostgreSQL is slow to accept"
                    + " connections, refuses them (max_connections reached? see pool_saturation) or is down: see"
                    + " PgBouncer's log; or the user's max_user_connections is reached");
        } else {
            sb.append(". Every server connection of the pool is busy: raise pool_size (default_pool_size) if PostgreSQL"
                    + " has slots to spare (max_connections, see pool_saturation), or shorten the transactions that"
                    + " hold server connections");
            if ("session".equals(pool.poolMode())) {
                sb.append("; in session mode a client keeps its server connection until it disconnects, so idle"
                        + " clients hold them too: pool_mode = transaction lets clients share them");
            }
        }
        return sb.append(holders).toString();
    }

    /** The PostgreSQL database a pool's server connections go to ({@code SHOW DATABASES} {@code database}). */
    private static String serverDatabase(Reading reading, Pool pool) {
        Database db = reading.database(pool.database());
        return db == null || db.database() == null || db.database().isEmpty() ? pool.database() : db.database();
    }

    /**
     * Pointers to what PostgreSQL shows holding connections of {@code database}: a long transaction,
     * sessions waiting on locks. Other databases' transactions do not hold this pool's connections.
     */
    String holders(Snapshot snapshot, String database) {
        if (!snapshot.up()) {
            return "; PostgreSQL cannot be reached by pgvigil now (see pg_up)";
        }
        Optional<Activity> activity = snapshot.get(Activity.class);
        if (activity.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        int own = activity.get().ownPid();
        activity.get().backends().stream()
                .filter(b -> b.pid() != own && database.equals(b.datname()) && b.xactAgeSeconds() != null)
                .max(Comparator.comparingDouble(Backend::xactAgeSeconds))
                .filter(b -> b.xactAgeSeconds() >= longTransaction)
                .ifPresent(b -> sb.append(String.format(Locale.ROOT, "; PostgreSQL has a transaction open in database %s"
                        + " for %.0f s (pid %d, user %s): see the long_transaction finding", database, b.xactAgeSeconds(),
                        b.pid(), b.usename())));
        Double lockWaitSeconds = activity.get().longestLockWaitByDatabase().get(database);
        if (lockWaitSeconds != null && lockWaitSeconds >= lockWait) {
            sb.append(String.format(Locale.ROOT, "; sessions wait on locks in database %s (the longest %.0f s): see the"
                    + " lock_wait finding", database, lockWaitSeconds));
        }
        return sb.toString();
    }

    private static long n(Long v) {
        return v == null ? 0 : v;
    }
}
