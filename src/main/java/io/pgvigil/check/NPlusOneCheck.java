package io.pgvigil.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import jakarta.inject.Singleton;

import io.pgvigil.collect.Snapshot;
import io.pgvigil.collect.SqlText;
import io.pgvigil.collect.StatStatementsCollector.Statements;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.window.Window;

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
 * SET, ...) are never children. Warning when seen, critical after {@code critical-windows}
 * consecutive windows with the same pair. Subject: the child's queryid. Limits: docs/checks.md.
 */
@Singleton
public class NPlusOneCheck extends ThresholdCheck {

    public static final String ID = "n_plus_one";

    /** One statement's activity in one database in the interval. */
    private record Stmt(long queryid, long dbid, String datname, long calls, long rows, String text) {
    }

    private record Pair(long dbid, long child, long parent) {
    }

    private final PgvigilConfig.NPlusOne config;
    private Map<Pair, Integer> streaks = new HashMap<>();

    public NPlusOneCheck(PgvigilConfig config) {
        super(ID, config.checks().nPlusOne().enabled(), config.checks().nPlusOne().minCalls(),
                config.checks().nPlusOne().criticalWindows());
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
        Map<Pair, Integer> nextStreaks = new HashMap<>();
        List<Evaluation> evaluations = new ArrayList<>();
        for (List<Stmt> stmts : byDatabase.values()) {
            List<Stmt> parents = stmts.stream()
                    .filter(p -> p.rows() >= 2 * p.calls() && p.rows() * config.ratioMax() >= config.minCalls())
                    .sorted(java.util.Comparator.comparingLong(Stmt::rows)).toList();
            long[] parentRows = parents.stream().mapToLong(Stmt::rows).toArray();
            for (Stmt child : stmts) {
                if (child.calls() < config.minCalls() || !SqlText.isDataStatement(child.text())) {
                    continue;
                }
                Stmt parent = bestParent(child, parents, parentRows);
                if (parent == null) {
                    continue;
                }
                Pair pair = new Pair(child.dbid(), child.queryid(), parent.queryid());
                int streak = streaks.getOrDefault(pair, 0) + 1;
                nextStreaks.put(pair, streak);
                evaluations.add(evaluation(child, parent, streak, window));
            }
        }
        streaks = nextStreaks;
        return Optional.of(evaluations);
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
        Severity severity = streak >= config.criticalWindows() ? Severity.CRITICAL : Severity.WARNING;
        double threshold = severity == Severity.CRITICAL ? config.criticalWindows() : config.minCalls();
        return Evaluation.measured(Long.toString(child.queryid()), child.calls(), severity, threshold, message);
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
