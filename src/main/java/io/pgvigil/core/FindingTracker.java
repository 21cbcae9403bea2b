package io.pgvigil.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jboss.logging.Logger;

/**
 * Turns each poll's evaluations into findings that open, change severity and clear, logging each of
 * those transitions once. Not thread-safe: the monitor calls it from the poll only.
 *
 * <p>A finding opens, or becomes more severe, as soon as a value crosses a threshold. It clears, or
 * steps down, only with hysteresis ({@link Check#clearing()}): when the value is back inside the
 * threshold by the clearing margin, or has been back inside it for {@code clear-after} consecutive
 * intervals. For checks whose value is sampled at the poll's instant ({@link Check#clearsByMargin()}),
 * only the second rule applies. A subject
 * the check no longer reports clears at once (its statement, index or database is gone, or it went
 * quiet); a held subject keeps its finding, for at most {@link CheckSpec#maxHeld()} intervals.
 */
public final class FindingTracker {

    private static final Logger LOG = Logger.getLogger(FindingTracker.class);

    /** Most severe first, then the oldest, then by check and subject, so that a capped list keeps what matters. */
    public static final Comparator<Finding> ORDER = Comparator.comparing(Finding::severity).reversed()
            .thenComparing(Finding::since).thenComparing(Finding::check).thenComparing(Finding::subject);

    /** An open finding and how many intervals in a row it was measured back inside, or not measured. */
    private static final class Open {
        Finding finding;
        int clean;
        int held;

        Open(Finding finding) {
            this.finding = finding;
        }
    }

    private final Map<String, Map<String, Open>> open = new HashMap<>();
    private final Set<String> suspended = new HashSet<>();

    /** The check could not be evaluated: its findings are withdrawn (they would be stale). */
    public void suspend(String check, String reason, Instant now) {
        Map<String, Open> findings = open.remove(check);
        if (suspended.add(check)) {
            LOG.infof("check %s is not evaluated: %s%s", check, reason,
                    findings == null || findings.isEmpty() ? "" : "; withdrawing its " + findings.size() + " open finding(s)");
        }
    }

    /** Applies one poll's evaluations of {@code check}. */
    public void apply(Check check, List<Evaluation> evaluations, Instant now) {
        String id = check.id();
        if (suspended.remove(id)) {
            LOG.infof("check %s is evaluated again", id);
        }
        Map<String, Open> current = open.computeIfAbsent(id, k -> new HashMap<>());
        Set<String> seen = new HashSet<>();
        // A held verdict changes only an open finding: of a held rest, only the open subjects are asked.
        HeldRest rest = evaluations instanceof HeldRest r ? r : null;
        for (Evaluation e : rest == null ? evaluations : rest.measured()) {
            seen.add(e.subject());
            Open before = current.get(e.subject());
            if (e.hold()) {
                hold(check, current, e.subject(), now);
                continue;
            }
            if (before == null) {
                if (e.severity() != null) {
                    Finding opened = new Finding(id, e.severity(), e.subject(), e.value(), e.threshold(), e.message(), now,
                            e.advice());
                    current.put(e.subject(), new Open(opened));
                    log(opened.severity(), "finding opened: check=%s severity=%s subject=%s value=%s threshold=%s: %s",
                            id, opened.severity().label(), e.subject(), format(e.value()), format(e.threshold()),
                            e.message());
                }
                continue;
            }
            before.held = 0;
            Severity was = before.finding.severity();
            Severity target = e.severity();
            double threshold = e.threshold();
            if (target == null || target.compareTo(was) < 0) {
                before.clean++;
                Severity kept = before.clean >= check.clearing().after() ? null : stillHeldBy(check, e.value(), was, target);
                if (kept != null) {
                    target = kept;
                    threshold = check.thresholds().get(kept);
                }
            } else {
                before.clean = 0;
            }
            if (target == null) {
                current.remove(e.subject());
                logCleared(before.finding, now, "value " + format(e.value()) + " is back within threshold"
                        + (before.clean >= check.clearing().after() ? " for " + before.clean + " intervals"
                                : " by the clearing margin"));
                continue;
            }
            if (target != was) {
                before.clean = 0;
            }
            before.finding = new Finding(id, target, e.subject(), e.value(), threshold, e.message(), before.finding.since(),
                    e.advice());
            if (target != was) {
                log(target, "finding changed: check=%s severity=%s (was %s) subject=%s value=%s threshold=%s: %s",
                        id, target.label(), was.label(), e.subject(), format(e.value()), format(threshold), e.message());
            }
        }
        if (rest != null) {
            // After the measured verdicts, as the held rest is listed after them.
            for (String subject : new ArrayList<>(current.keySet())) {
                if (rest.holds(subject)) {
                    seen.add(subject);
                    hold(check, current, subject, now);
                }
            }
        }
        for (Iterator<Open> it = current.values().iterator(); it.hasNext();) {
            Finding f = it.next().finding;
            if (!seen.contains(f.subject())) {
                it.remove();
                logCleared(f, now, "no longer reported: not measured, or, for checks that report only breaches, back within threshold");
            }
        }
    }

    /** A held verdict: an open finding stays as it was, for at most {@link CheckSpec#maxHeld()} intervals. */
    private static void hold(Check check, Map<String, Open> current, String subject, Instant now) {
        Open before = current.get(subject);
        if (before != null && ++before.held > check.spec().maxHeld() && check.spec().maxHeld() > 0) {
            current.remove(subject);
            logCleared(before.finding, now, "not measured for " + check.spec().maxHeld() + " intervals");
        }
    }

    /**
     * The most severe level from {@code was} down to (not including) {@code measured} whose threshold
     * the value is not yet back inside by the clearing margin, or null when there is none.
     */
    static Severity stillHeldBy(Check check, Double value, Severity was, Severity measured) {
        if (value == null || !check.clearsByMargin()) {
            return was;
        }
        for (int level = was.ordinal(); level > (measured == null ? -1 : measured.ordinal()); level--) {
            Severity severity = Severity.values()[level];
            Double threshold = check.thresholds().get(severity);
            if (threshold != null && !released(check, value, threshold)) {
                return severity;
            }
        }
        return null;
    }

    /** Whether {@code value} is back inside {@code threshold} by the check's clearing margin. */
    static boolean released(Check check, double value, double threshold) {
        double margin = check.clearing().margin();
        if (!check.spec().lowerIsWorse()) {
            return value < threshold - margin * Math.abs(threshold);
        }
        double band = check.spec().unit() == Unit.RATIO ? margin * (1 - threshold) : margin * Math.abs(threshold);
        return value > threshold + band;
    }

    /** Every open finding, in {@link #ORDER}. */
    public List<Finding> open() {
        List<Finding> all = new ArrayList<>();
        open.values().forEach(m -> m.values().forEach(o -> all.add(o.finding)));
        all.sort(ORDER);
        return all;
    }

    private static void logCleared(Finding f, Instant now, String why) {
        LOG.infof("finding cleared: check=%s subject=%s after %ss open (%s)", f.check(), f.subject(),
                Duration.between(f.since(), now).toSeconds(), why);
    }

    private static void log(Severity severity, String format, Object... args) {
        LOG.logf(severity == Severity.INFO ? Logger.Level.INFO : Logger.Level.WARN, format, args);
    }

    static String format(Double value) {
        if (value == null) {
            return "n/a";
        }
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString(value.longValue())
                : String.format(java.util.Locale.ROOT, "%.4g", value);
    }
}
