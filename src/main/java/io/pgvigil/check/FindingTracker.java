package io.pgvigil.check;

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
 */
public final class FindingTracker {

    private static final Logger LOG = Logger.getLogger(FindingTracker.class);

    /** Most severe first, then the oldest, then by check and subject, so that a capped list keeps what matters. */
    public static final Comparator<Finding> ORDER = Comparator.comparing(Finding::severity).reversed()
            .thenComparing(Finding::since).thenComparing(Finding::check).thenComparing(Finding::subject);

    private final Map<String, Map<String, Finding>> open = new HashMap<>();
    private final Set<String> suspended = new HashSet<>();

    /** The check could not be evaluated: its findings are withdrawn (they would be stale). */
    public void suspend(String check, String reason, Instant now) {
        Map<String, Finding> findings = open.remove(check);
        if (suspended.add(check)) {
            LOG.infof("check %s is not evaluated: %s%s", check, reason,
                    findings == null || findings.isEmpty() ? "" : "; withdrawing its " + findings.size() + " open finding(s)");
        }
    }

    /** Applies one poll's evaluations of {@code check}. */
    public void apply(String check, List<Evaluation> evaluations, Instant now) {
        if (suspended.remove(check)) {
            LOG.infof("check %s is evaluated again", check);
        }
        Map<String, Finding> current = open.computeIfAbsent(check, k -> new HashMap<>());
        Set<String> seen = new HashSet<>();
        for (Evaluation e : evaluations) {
            seen.add(e.subject());
            Finding before = current.get(e.subject());
            if (e.hold()) {
                continue;
            }
            if (e.severity() == null) {
                if (before != null) {
                    current.remove(e.subject());
                    logCleared(before, now, "value " + format(e.value()) + " is back within threshold");
                }
                continue;
            }
            Instant since = before == null ? now : before.since();
            Finding after = new Finding(check, e.severity(), e.subject(), e.value(), e.threshold(), e.message(), since);
            current.put(e.subject(), after);
            if (before == null) {
                log(after.severity(), "finding opened: check=%s severity=%s subject=%s value=%s threshold=%s: %s",
                        check, after.severity().label(), e.subject(), format(e.value()), format(e.threshold()), e.message());
            } else if (before.severity() != after.severity()) {
                log(after.severity(), "finding changed: check=%s severity=%s (was %s) subject=%s value=%s threshold=%s: %s",
                        check, after.severity().label(), before.severity().label(), e.subject(), format(e.value()),
                        format(e.threshold()), e.message());
            }
        }
        for (Iterator<Finding> it = current.values().iterator(); it.hasNext();) {
            Finding f = it.next();
            if (!seen.contains(f.subject())) {
                it.remove();
                logCleared(f, now, "no longer reported: not measured, or, for checks that report only breaches, back within threshold");
            }
        }
    }

    /** Every open finding, in {@link #ORDER}. */
    public List<Finding> open() {
        List<Finding> all = new ArrayList<>();
        open.values().forEach(m -> all.addAll(m.values()));
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
