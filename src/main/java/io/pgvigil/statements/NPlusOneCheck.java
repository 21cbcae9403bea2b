package io.pgvigil.statements;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import jakarta.inject.Singleton;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;
import io.pgvigil.statements.NPlusOneHistory.Series;
import io.pgvigil.statements.NPlusOneMatcher.Match;
import io.pgvigil.statements.NPlusOneMatcher.Parent;
import io.pgvigil.statements.StatStatementsCollector.Statement;
import io.pgvigil.statements.StatStatementsCollector.Statements;

/**
 * {@code n_plus_one}: a child statement run once per row (or, for a lookup, once per distinct key)
 * that one or more parent statements returned, judged over a sliding window of recent intervals
 * ({@code window}, 1 minute by default and at least {@value #MIN_WINDOW_INTERVALS} polls: 2 minutes
 * at the default 15 s interval) by {@link NPlusOneMatcher}. The value is the impact: the round trips
 * per second that one batched query per parent call would have saved (child calls − parent calls
 * over the window, per second of it); warning at {@code warning}, critical at {@code critical}. The
 * message adds the child's calls per second and the database time it took.
 *
 * <p>No flapping: a pair opens once it matched at 80 % ({@value #OPEN_SHARE}) of the polls of the
 * last window that judged its child (a poll judges a child that ran in both halves of a window of at
 * least {@value NPlusOneMatcher#MIN_EVIDENCE} blocks of adjacent intervals spanning 8 s or more: 6 polls at 15 s, 24 at 2 s; a
 * child resting after far-off fits is not judged), those polls spanning at least a quarter of
 * a window; a poll that misses does not start it over. Once open, a poll at which the child still runs
 * in proportion to the same parents by counts alone also counts as a match (hysteresis, see
 * {@code NPlusOneMatcher#sustained}) for at most {@value #SUSTAIN_WINDOWS} windows after its last full
 * match, and it stays open, with its last value, until a whole window passes without a match; a child
 * that ran in the window without the pattern after that is measured at 0 and clears. A child that did
 * not run in the interval (and did not match) is held, like every statement finding, for at most
 * {@value StatementChecks#MAX_HELD_INTERVALS} intervals; paused longer, it is forgotten, and a return
 * is a new incident. Utility statements are never children or
 * parents; pgvigil's own statements are not collected. Subject: the child's queryid.
 */
@Singleton
public class NPlusOneCheck extends ThresholdCheck {

    public static final String ID = "n_plus_one";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.PER_SECOND, SubjectKind.STATEMENT,
            "round trips per second that one query per parent call would have saved, over the window, for a statement (the child) run once per row of others",
            "Statement {{ $labels.subject }} runs once per row of another (N+1)", NPlusOneCheck::new)
            .heldAtMost(StatementChecks.MAX_HELD_INTERVALS);

    /** The last evaluation that matched, when (epoch seconds), and its match (whose parents keep it open). */
    private record Seen(double at, Evaluation evaluation, Match match, int pausedPolls, double strictAt) {
    }

    /**
     * Windows after a pair's last full match (every test of {@link NPlusOneMatcher}) during which its
     * counts alone keep it open: long enough for a stretch of overlapping or uneven requests, short
     * enough that a pair opened by a fluke on steady unrelated traffic does not stay open for ever.
     */
    static final int SUSTAIN_WINDOWS = 5;

    /** Least share of the polls of a window that judged a child which must have matched it for the pair to open. */
    static final double OPEN_SHARE = 0.8;
    /** Fewest intervals a window holds: the default minute is stretched to this many polls (see {@link #effectiveWindow}). */
    static final int MIN_WINDOW_INTERVALS = 8;

    private final PgvigilConfig.NPlusOne config;
    private final double windowSeconds;
    private final NPlusOneHistory history;
    private final NPlusOneMatcher matcher;
    private final Map<String, Seen> seen = new HashMap<>();
    /** Polls since the first that judged a child before it may open: a quarter of a window's. */
    private final int judgedFor;
    /** The window as messages print it: "1m". */
    private final String windowText;

    public NPlusOneCheck(PgvigilConfig config) {
        super(SPEC, config.checks().nPlusOne(), config.checks().nPlusOne().warning(),
                config.checks().nPlusOne().critical());
        this.config = config.checks().nPlusOne();
        Duration window = effectiveWindow(this.config.window(), config.interval());
        this.windowSeconds = seconds(window);
        this.history = new NPlusOneHistory(windowSeconds);
        int pollsPerWindow = (int) Math.round(windowSeconds / seconds(config.interval()));
        this.judgedFor = (int) Math.ceil(pollsPerWindow / 4.0);
        this.matcher = new NPlusOneMatcher(settings(this.config), pollsPerWindow, seconds(config.interval()));
        this.windowText = window.toString().substring(2).toLowerCase(Locale.ROOT);
    }

    /**
     * The window a pair is judged over: {@code window}, stretched to {@value #MIN_WINDOW_INTERVALS}
     * polls when {@code pgvigil.interval} is longer than an eighth of it (1 minute up to a 7.5 s interval,
     * 2 minutes at 15 s): timing is evidence only over enough intervals.
     */
    static Duration effectiveWindow(Duration window, Duration interval) {
        Duration least = interval.multipliedBy(MIN_WINDOW_INTERVALS);
        return window.compareTo(least) < 0 ? least : window;
    }

    static NPlusOneMatcher.Settings settings(PgvigilConfig.NPlusOne c) {
        return new NPlusOneMatcher.Settings(c.minCalls(), c.minFanOut(), c.ratioMin(), c.lookupRatioMin(), c.ratioMax());
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Statements> statements = snapshot.get(Statements.class);
        if (statements.isEmpty()) {
            return Optional.empty();
        }
        double now = snapshot.at().toEpochMilli() / 1000.0;
        history.add(now, window.seconds(), deltas(window));
        Set<Long> present = new HashSet<>(statements.get().entries().size() * 2);
        for (Statement s : statements.get().entries()) {
            present.add(s.queryid());
        }
        history.retain(present);

        Map<String, Evaluation> found = new LinkedHashMap<>();
        Map<String, Match> matchOf = new HashMap<>();
        Map<Long, Match> open = new HashMap<>();
        seen.forEach((subject, s) -> {
            if (now - s.strictAt() < SUSTAIN_WINDOWS * windowSeconds) {
                open.put(s.match().child(), s.match());
            }
        });
        for (Match m : matcher.match(history, open)) {
            String subject = Long.toString(m.child());
            double value = m.avoidablePerSecond();
            Evaluation e;
            if (seen.containsKey(subject) || m.judgedFor() >= judgedFor && m.matched() >= OPEN_SHARE * m.judged() - 1e-9) {
                e = Evaluation.above(subject, value, warning(), critical(), message(m));
            } else {
                // Seen in most of the window before it opens: a fluke of a few polls is not a loop.
                e = Evaluation.measured(subject, value, null, warning(), message(m) + (m.judged() == 0
                        ? " (not judged yet: the window holds fewer than " + NPlusOneMatcher.MIN_EVIDENCE + " intervals)"
                        : String.format(Locale.ROOT, " (matched at %d of the %d polls that judged it in the last %s; opens once"
                                + " matched at %.0f %% of them, judged over %d polls)", m.matched(), m.judged(), windowText,
                                OPEN_SHARE * 100, judgedFor + 1)));
            }
            Evaluation kept = found.merge(e.subject(), e, (a, b) -> a.value() >= b.value() ? a : b);
            if (kept == e) {
                matchOf.put(subject, m);
            }
        }
        // A child that did not run in this interval has paused: its clock stops, so that a loop that comes
        // back after a pause is the same incident, and its finding is held (cleared after the hold limit
        // if it never comes back) rather than judged clean on the few calls of its return.
        Set<String> ranNow = new HashSet<>();
        window.statements().forEach(d -> ranNow.add(Long.toString(d.statement().queryid())));
        Set<String> paused = new HashSet<>();
        seen.replaceAll((subject, s) -> {
            if (ranNow.contains(subject) || found.containsKey(subject)) {
                return s.pausedPolls() == 0 ? s : new Seen(s.at(), s.evaluation(), s.match(), 0, s.strictAt());
            }
            paused.add(subject);
            return new Seen(s.at() + window.seconds(), s.evaluation(), s.match(), s.pausedPolls() + 1,
                    s.strictAt() + window.seconds());
        });
        found.values().stream().filter(e -> e.severity() != null).forEach(e -> {
            Match m = matchOf.get(e.subject());
            Seen before = seen.get(e.subject());
            // A full match (every test of the matcher) restarts the clock of SUSTAIN_WINDOWS; one by counts alone does not.
            double strictAt = before == null || !m.kept() ? now : before.strictAt();
            seen.put(e.subject(), new Seen(now, e, m, 0, strictAt));
        });
        // Paused past the hold, the finding has cleared (the engine holds at most as long): a return is a new incident.
        seen.values().removeIf(s -> now - s.at() >= windowSeconds || s.pausedPolls() > StatementChecks.MAX_HELD_INTERVALS
                || !present.contains(Long.parseLong(s.evaluation().subject())));
        paused.retainAll(seen.keySet());
        // Matched within the last window: stays open as it was, a quieter stretch is not a fix.
        seen.forEach((subject, s) -> {
            if (paused.contains(subject)) {
                return;
            }
            Evaluation before = found.get(subject);
            if (before == null || before.severity() == null) {
                Evaluation e = s.evaluation();
                found.put(subject, Evaluation.measured(subject, e.value(), e.severity(), e.threshold(), e.message()
                        + String.format(Locale.ROOT, " (last matched %.0f s ago; open until a %s window passes without it)",
                                now - s.at(), windowText)));
            }
        });
        Set<Long> ran = history.queryids();
        List<String> clean = new ArrayList<>();
        for (Series s : history.series()) {
            String subject = Long.toString(s.key.queryid());
            if (s.data && !found.containsKey(subject) && !paused.contains(subject)) {
                clean.add(subject);
            }
        }
        List<Evaluation> evaluations = new ArrayList<>(found.values());
        paused.forEach(subject -> evaluations.add(Evaluation.held(subject)));
        clean.forEach(subject -> evaluations.add(Evaluation.measured(subject, 0, null, warning(),
                "no N+1 pattern in the last " + windowText)));
        found.keySet().forEach(subject -> ran.add(Long.parseLong(subject)));
        paused.forEach(subject -> ran.add(Long.parseLong(subject)));
        return Optional.of(StatementChecks.holdIdle(evaluations, ran, statements.get()));
    }

    /** Top-level entries of the interval summed per (database, queryid): all roles together. */
    static List<NPlusOneHistory.Delta> deltas(Window window) {
        Map<NPlusOneHistory.Key, NPlusOneHistory.Delta> sums = new HashMap<>();
        for (Window.StatementDelta d : window.statements()) {
            Statement s = d.statement();
            if (!s.toplevel()) {
                continue;
            }
            sums.merge(new NPlusOneHistory.Key(s.dbid(), s.queryid()),
                    new NPlusOneHistory.Delta(s.dbid(), s.datname(), s.queryid(), s.text(), d.calls(), d.rows(), d.execSeconds()),
                    (a, b) -> new NPlusOneHistory.Delta(a.dbid(), a.datname(), a.queryid(), a.text() != null ? a.text() : b.text(),
                            a.calls() + b.calls(), a.rows() + b.rows(), a.execSeconds() + b.execSeconds()));
        }
        return new ArrayList<>(sums.values());
    }

    /** The finding's message; plain appends (String.format showed in the profile with many pairs). */
    static String message(Match m) {
        StringBuilder sb = new StringBuilder(400);
        sb.append("N+1 in database ").append(m.datname()).append(": statement ").append(m.child()).append(" ran ")
                .append(m.calls()).append(" times in the last ").append(Math.round(m.seconds())).append(" s (")
                .append(oneDecimal(m.calls() / m.seconds())).append(" per second, ").append(duration(m.execSeconds()))
                .append(" of execution), ");
        if (m.parents().size() == 1) {
            Parent p = m.parents().get(0);
            sb.append(m.lookup() ? "a lookup per row" : "once per row").append(" of statement ").append(p.queryid())
                    .append(" (").append(p.rows()).append(" rows in ").append(p.calls()).append(" call(s); ")
                    .append(oneDecimal((double) m.calls() / p.calls())).append(" child calls per parent call");
            if (m.lookup() && m.calls() < p.rows()) {
                sb.append(", ").append(Math.round(100.0 * m.calls() / p.rows())).append(" % of the rows: each distinct key once");
            }
            sb.append(')');
        } else {
            sb.append("a lookup shared by ").append(m.parents().size()).append(" loops, per row of");
            String sep = " ";
            for (Parent p : m.parents()) {
                sb.append(sep).append("statement ").append(p.queryid()).append(" (").append(Math.round(p.share() * 100))
                        .append(" % of the calls, by rows: ").append(p.rows()).append(" rows in ").append(p.calls()).append(" call(s))");
                sep = ", ";
            }
        }
        sb.append("; one query per parent call, with a JOIN or IN (...) / = ANY($1), would have saved ").append(m.avoidable())
                .append(" round trips (").append(oneDecimal(m.avoidablePerSecond())).append(" per second). Child: ")
                .append(shortText(m.text()));
        for (Parent p : m.parents()) {
            sb.append(m.parents().size() == 1 ? " | Parent: " : " | Parent " + p.queryid() + ": ").append(shortText(p.text()));
        }
        return sb.toString();
    }

    /** 6.7, as %.1f prints it for the non-negative values here. */
    static String oneDecimal(double value) {
        long tenths = Math.round(value * 10);
        return (tenths / 10) + "." + (tenths % 10);
    }

    private static String duration(double seconds) {
        return seconds >= 1 ? oneDecimal(seconds) + " s" : oneDecimal(seconds * 1000) + " ms";
    }

    private static String shortText(String text) {
        return text == null ? "(query text not available)" : SqlText.redact(text, 200);
    }
}
