package io.pgvigil.statements;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.statements.SqlText;
import io.pgvigil.statements.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code n_plus_one}: a child statement executed once per row that a parent statement returned, in
 * the same database, in the same interval: the child's calls are within
 * [{@code ratio-min}, {@code ratio-max}] × the parent's rows, with at least {@code min-calls} child
 * calls. The parent must have run fewer times than the child and returned at least two rows per
 * call (a statement that returns one row per call is a lookup, not a list to loop over).
 *
 * <p>Matching is per database: parents are sorted by rows, and each child looks up the parents
 * whose rows fall in [calls / ratio-max, calls / ratio-min] by binary search and keeps the one whose
 * ratio is closest to 1: O(n log n) for n statements, no all-pairs loop. Utility statements (BEGIN,
 * SET, ...) are never children. The value is the number of consecutive intervals the pair has been
 * seen (an interval in which the child did not run does not break the run): warning from 1, critical
 * from {@code critical-windows}. A child that ran without the pattern is reported at 0, so that its
 * finding counts clean intervals. Subject: the child's queryid. Limits: docs/checks.md.
 */
@Singleton
public class NPlusOneCheck extends ThresholdCheck {

    public static final String ID = "n_plus_one";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.INTERVALS, SubjectKind.STATEMENT,
            "consecutive intervals in which the statement (the child) ran once per row of another, with ≥ min-calls calls",
            "Statement {{ $labels.subject }} runs once per row of another (N+1)", NPlusOneCheck::new).heldAtMost(StatementChecks.MAX_HELD_INTERVALS);

    /** One statement's activity in one database in the interval. */
    private record Stmt(long queryid, long dbid, String datname, long calls, long rows, String text) {
    }

    private record Pair(long dbid, long child, long parent) {
    }

    private final PgvigilConfig.NPlusOne config;
    private Map<Pair, Integer> streaks = new HashMap<>();

    public NPlusOneCheck(PgvigilConfig config) {
        super(SPEC, config.checks().nPlusOne(), 1, config.checks().nPlusOne().criticalWindows());
        this.config = config.checks().nPlusOne();
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return Optional.empty();
        }
        Map<Long, List<Stmt>> byDatabase = new TreeMap<>();
        for (Stmt s : perDatabase(window)) {
            byDatabase.computeIfAbsent(s.dbid(), k -> new ArrayList<>()).add(s);
        }
        Set<Long> ran = new HashSet<>();
        window.statements().forEach(d -> ran.add(d.statement().queryid()));
        Map<Pair, Integer> nextStreaks = new HashMap<>();
        // A pair whose child did not run keeps its streak (not running is not a JOIN) while
        // pg_stat_statements still has the child: memory stays bounded.
        Set<Long> present = new HashSet<>();
        statements.get().entries().forEach(s -> present.add(s.queryid()));
        streaks.forEach((pair, streak) -> {
            if (!ran.contains(pair.child()) && present.contains(pair.child())) {
                nextStreaks.put(pair, streak);
            }
        });
        Map<String, Evaluation> found = new LinkedHashMap<>();
        Set<String> clean = new TreeSet<>();
        for (List<Stmt> stmts : byDatabase.values()) {
            List<Stmt> parents = stmts.stream()
                    .filter(p -> p.rows() >= 2 * p.calls() && p.rows() * config.ratioMax() >= config.minCalls())
                    .sorted(java.util.Comparator.comparingLong(Stmt::rows)).toList();
            long[] parentRows = parents.stream().mapToLong(Stmt::rows).toArray();
            for (Stmt child : stmts) {
                if (!SqlText.isDataStatement(child.text())) {
                    continue;
                }
                Stmt parent = child.calls() < config.minCalls() ? null : bestParent(child, parents, parentRows);
                String subject = Long.toString(child.queryid());
                if (parent == null) {
                    clean.add(subject);
                    continue;
                }
                Pair pair = new Pair(child.dbid(), child.queryid(), parent.queryid());
                int streak = streaks.getOrDefault(pair, 0) + 1;
                nextStreaks.put(pair, streak);
                Evaluation e = evaluation(child, parent, streak, window);
                found.merge(subject, e, (a, b) -> a.value() >= b.value() ? a : b);
            }
        }
        streaks = nextStreaks;
        List<Evaluation> evaluations = new ArrayList<>(found.values());
        // Ran without the pattern (in any database): measured, at 0 intervals, so that an open finding
        // counts a clean interval instead of being held.
        clean.removeAll(found.keySet());
        clean.forEach(subject -> evaluations.add(Evaluation.measured(subject, 0, null, 1, "no N+1 pattern in the last interval")));
        return Optional.of(StatementChecks.holdIdle(evaluations, ran, statements.get()));
    }

    /** The parent whose rows the child's calls track most closely, or null. */
    private Stmt bestParent(Stmt child, List<Stmt> parents, long[] parentRows) {
        long low = (long) Math.ceil(child.calls() / config.ratioMax());
        long high = (long) Math.floor(child.calls() / config.ratioMin());
        int i = lowerBound(parentRows, low);
        Stmt best = null;
        double bestDistance = Double.MAX_VALUE;
        for (; i < parentRows.length && parentRows[i] <= high; i++) {
            Stmt p = parents.get(i);
            if (p.queryid() == child.queryid() || p.calls() >= child.calls()) {
                continue;
            }
            double distance = Math.abs(Math.log((double) child.calls() / p.rows()));
            if (distance < bestDistance) {
                best = p;
                bestDistance = distance;
            }
        }
        return best;
    }

    private static int lowerBound(long[] sorted, long key) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private Evaluation evaluation(Stmt child, Stmt parent, int streak, Window window) {
        long saved = child.calls() - parent.calls();
        String message = String.format(java.util.Locale.ROOT,
                "N+1 in database %s: statement %d ran %d times in the last %.0f s, once per row of statement %d"
                        + " (%d rows in %d call(s)); one query with a JOIN, or with IN (...) / = ANY($1), per parent"
                        + " call would have saved %d calls%s. Child: %s | Parent: %s",
                child.datname(), child.queryid(), child.calls(), window.seconds(), parent.queryid(), parent.rows(),
                parent.calls(), saved, streak > 1 ? "; seen in " + streak + " consecutive intervals" : "",
                shortText(child.text()), shortText(parent.text()));
        return Evaluation.above(Long.toString(child.queryid()), streak, 1, config.criticalWindows(), message);
    }

    private static String shortText(String text) {
        return text == null ? "(query text not available)" : SqlText.redact(text, 200);
    }

    /** Top-level entries of the window summed per (database, queryid): all roles together. */
    private static List<Stmt> perDatabase(Window window) {
        Map<List<Long>, Stmt> sums = new HashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            if (!d.statement().toplevel()) {
                continue;
            }
            List<Long> key = List.of(d.statement().dbid(), d.statement().queryid());
            Stmt s = sums.get(key);
            sums.put(key, s == null
                    ? new Stmt(d.statement().queryid(), d.statement().dbid(), d.statement().datname(), d.calls(), d.rows(),
                            d.statement().text())
                    : new Stmt(s.queryid(), s.dbid(), s.datname(), s.calls() + d.calls(), s.rows() + d.rows(), s.text()));
        }
        return new ArrayList<>(sums.values());
    }
}
