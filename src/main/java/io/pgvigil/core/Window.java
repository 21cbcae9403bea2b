package io.pgvigil.core;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.pgvigil.core.Snapshot;
import io.pgvigil.databases.StatDatabaseCollector.Database;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatementDeltas;

/**
 * What happened between two snapshots: per-interval deltas of cumulative counters. A series whose
 * counters went backwards (a stats reset, a server restart) or that has no earlier reading gives no
 * delta for this interval and is listed as held instead; a delta is never negative.
 *
 * @param seconds   length of the interval, 0 when there is no earlier snapshot
 * @param databases per-database deltas by datname
 * @param held      databases seen now that have no trustworthy delta this interval
 * @param statements pg_stat_statements entries that ran during the interval, with their deltas
 * @param statementsHeld entries with no trustworthy delta this interval (see {@link StatementDeltas})
 */
public record Window(double seconds, Map<String, DatabaseDelta> databases, Set<String> held,
        List<StatementDelta> statements, int statementsHeld) {

    public Window {
        databases = Map.copyOf(databases);
        held = Set.copyOf(held);
        statements = List.copyOf(statements);
    }

    /** What one statement did during the interval. {@code statement} is its current reading. */
    public record StatementDelta(Statement statement, long calls, double execSeconds, double planSeconds, long rows,
            long sharedBlksHit, long sharedBlksRead, long tempBlksWritten) {

        public double meanSeconds() {
            return calls == 0 ? 0 : execSeconds / calls;
        }
    }

    /** Transactions and block accesses of one database during the interval. */
    public record DatabaseDelta(String datname, long xactCommit, long xactRollback, long deadlocks, long tempFiles,
            long tempBytes, long blksHit, long blksRead) {

        public long transactions() {
            return xactCommit + xactRollback;
        }

        public long blockAccesses() {
            return blksHit + blksRead;
        }
    }

    public static final Window EMPTY = new Window(0, Map.of(), Set.of(), List.of(), 0);

    /**
     * The window from {@code previous} (the last snapshot that reached the target, may be null) to
     * {@code current}.
     */
    public static Window between(Snapshot previous, Snapshot current) {
        if (!current.up()) {
            return EMPTY;
        }
        Map<Long, Database> now = databases(current);
        Set<String> held = new TreeSet<>();
        now.values().forEach(d -> held.add(d.datname()));
        boolean noBaseline = previous == null || !previous.up();
        boolean restarted = !noBaseline && previous.server().startTimeSeconds() != current.server().startTimeSeconds();
        StatementDeltas.Result statements = StatementDeltas.between(noBaseline ? null : previous, current, restarted);
        if (noBaseline || restarted) {
            // No baseline, or the server restarted and every counter started again from zero.
            return new Window(0, Map.of(), held, List.of(), statements.held());
        }
        double seconds = Duration.between(previous.at(), current.at()).toNanos() / 1e9;
        Map<Long, Database> before = databases(previous);
        Map<String, DatabaseDelta> deltas = new TreeMap<>();
        for (Database cur : now.values()) {
            Database prev = before.get(cur.datid());
            if (prev == null || reset(prev, cur)) {
                continue;
            }
            DatabaseDelta d = new DatabaseDelta(cur.datname(), cur.xactCommit() - prev.xactCommit(),
                    cur.xactRollback() - prev.xactRollback(), cur.deadlocks() - prev.deadlocks(),
                    cur.tempFiles() - prev.tempFiles(), cur.tempBytes() - prev.tempBytes(),
                    cur.blksHit() - prev.blksHit(), cur.blksRead() - prev.blksRead());
            if (d.xactCommit() >= 0 && d.xactRollback() >= 0 && d.deadlocks() >= 0 && d.tempFiles() >= 0
                    && d.tempBytes() >= 0 && d.blksHit() >= 0 && d.blksRead() >= 0) {
                deltas.put(cur.datname(), d);
                held.remove(cur.datname());
            }
        }
        return new Window(seconds, deltas, held, statements.deltas(), statements.held());
    }

    /**
     * Whether the database's statistics were reset between the two readings. Before PostgreSQL 15 a
     * database gets a statistics entry, and a stats_reset time, at its first activity: stats_reset
     * going from NULL to a time over all-zero counters is that first entry, not a reset.
     */
    private static boolean reset(Database prev, Database cur) {
        if (Objects.equals(prev.statsResetSeconds(), cur.statsResetSeconds())) {
            return false;
        }
        boolean firstEntry = prev.statsResetSeconds() == null && prev.xactCommit() == 0 && prev.xactRollback() == 0
                && prev.blksHit() == 0 && prev.blksRead() == 0;
        return !firstEntry;
    }

    private static Map<Long, Database> databases(Snapshot snapshot) {
        Map<Long, Database> byId = new HashMap<>();
        snapshot.get(DatabaseStats.class).ifPresent(s -> s.databases().forEach(d -> byId.put(d.datid(), d)));
        return byId;
    }
}
