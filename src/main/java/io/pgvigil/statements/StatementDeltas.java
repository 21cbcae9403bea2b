package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.StatStatementsCollector.Key;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.core.Window;

/**
 * Per-statement deltas between two readings of pg_stat_statements. An entry gives a delta only
 * when its counters are known to have run on from the previous reading:
 * <ul>
 * <li>present in both, same {@code stats_since} (17+), no counter lower: the difference;</li>
 * <li>new since the previous reading: its whole counters, but only when that is provable, i.e.
 * {@code stats_since} (17+) is after the previous poll, or (14+) no entry was deallocated in the
 * interval, so an absent entry cannot have been evicted and re-created;</li>
 * <li>anything else (a full reset, an eviction, counters that went down): held, no delta.</li>
 * </ul>
 */
public final class StatementDeltas {

    public record Result(List<Window.StatementDelta> deltas, int held) {
    }

    private StatementDeltas() {
    }

    public static Result between(Snapshot previous, Snapshot current, boolean restarted) {
        Statements cur = current.get(Statements.class).orElse(null);
        if (cur == null) {
            return new Result(List.of(), 0);
        }
        Statements prev = previous == null ? null : previous.get(Statements.class).orElse(null);
        if (prev == null || restarted || !Objects.equals(prev.statsResetSeconds(), cur.statsResetSeconds())) {
            return new Result(List.of(), cur.entries().size());
        }
        Map<Key, Statement> before = new HashMap<>(prev.entries().size() * 2);
        prev.entries().forEach(s -> before.put(s.key(), s));
        double previousAt = previous.at().toEpochMilli() / 1000.0;
        boolean noEvictions = prev.deallocations() != null && prev.deallocations().equals(cur.deallocations());
        List<Window.StatementDelta> deltas = new ArrayList<>();
        int held = 0;
        for (Statement s : cur.entries()) {
            Statement p = before.get(s.key());
            Window.StatementDelta d;
            if (p == null) {
                boolean provablyNew = s.statsSinceSeconds() != null ? s.statsSinceSeconds() >= previousAt : noEvictions;
                d = provablyNew ? delta(s, null) : null;
            } else if (!Objects.equals(p.statsSinceSeconds(), s.statsSinceSeconds())) {
                d = null;
            } else {
                d = delta(s, p);
            }
            if (d == null) {
                held++;
            } else if (d.calls() > 0) {
                deltas.add(d);
            }
        }
        return new Result(deltas, held);
    }

    /** The delta from {@code p} (null: from zero), or null when a counter went down. */
    private static Window.StatementDelta delta(Statement s, Statement p) {
        long calls = s.calls() - (p == null ? 0 : p.calls());
        double exec = s.execSeconds() - (p == null ? 0 : p.execSeconds());
        double plan = s.planSeconds() - (p == null ? 0 : p.planSeconds());
        long rows = s.rows() - (p == null ? 0 : p.rows());
        long hit = s.sharedBlksHit() - (p == null ? 0 : p.sharedBlksHit());
        long read = s.sharedBlksRead() - (p == null ? 0 : p.sharedBlksRead());
        long temp = s.tempBlksWritten() - (p == null ? 0 : p.tempBlksWritten());
        if (calls < 0 || exec < -1e-9 || plan < -1e-9 || rows < 0 || hit < 0 || read < 0 || temp < 0) {
            return null;
        }
        return new Window.StatementDelta(s, calls, Math.max(0, exec), Math.max(0, plan), rows, hit, read, temp);
    }
}
