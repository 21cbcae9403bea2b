package io.pgvigil.checkpoints;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.checkpoints.CheckpointHistory.Reading;
import io.pgvigil.checkpoints.CheckpointHistory.Span;
import io.pgvigil.checkpoints.StatBgwriterCollector.Checkpointer;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;

/**
 * {@code checkpoint_pressure}: the share of the last {@code window}'s checkpoints (1 h) that were
 * requested rather than timed, judged with at least {@code min-checkpoints} (3) of them; warning
 * only (0.5). A requested checkpoint is, on a busy server, almost always WAL reaching
 * {@code max_wal_size} before {@code checkpoint_timeout} passed: each checkpoint then comes early, and
 * the full-page images written after each one add WAL again. What counts as a checkpoint on each
 * version: {@link CheckpointHistory}. Subject: {@code server}.
 *
 * <p>Fewer than {@code min-checkpoints} in the window is no judgement: when none of them was
 * requested the value is 0 (nothing presses, an open finding clears), otherwise the interval is held
 * (an open finding stays, a closed one stays closed) until the requested ones leave the window or
 * more checkpoints arrive, so a load that hovers around the minimum does not open and clear the
 * finding in turn. The value counts only the requested checkpoints that the WAL written in the
 * window can account for (a WAL-triggered checkpoint comes after about {@code max_wal_size / (1 +
 * checkpoint_completion_target)} of WAL; twice that many, plus the one due when the window began,
 * is the most WAL can explain): the others were requested another way (a {@code CHECKPOINT}
 * command, base backups, {@code CREATE DATABASE}, a restart), which raising {@code max_wal_size}
 * would not prevent, so they never open this finding (a restart test on 14 did, before) and the
 * message names them apart. Without WAL figures every requested checkpoint counts.
 */
@Singleton
public class CheckpointPressureCheck extends ThresholdCheck {

    public static final String ID = "checkpoint_pressure";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.SERVER,
            "checkpoints requested by WAL volume / all checkpoints in the last window (1 h), with ≥ min-checkpoints of them",
            "Checkpoints are forced by WAL volume rather than checkpoint_timeout (max_wal_size too small?)",
            CheckpointPressureCheck::new).only(Severity.WARNING).alertAfter(Duration.ofMinutes(5));

    static final String SUBJECT = "server";

    private final PgvigilConfig.CheckpointPressure config;
    private final CheckpointHistory history = new CheckpointHistory();

    public CheckpointPressureCheck(PgvigilConfig config) {
        super(SPEC, config.checks().checkpointPressure(), config.checks().checkpointPressure().warning(), 1);
        this.config = config.checks().checkpointPressure();
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of(Severity.WARNING, warning());
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Checkpointer> checkpointer = snapshot.get(Checkpointer.class);
        if (checkpointer.isEmpty()) {
            return Optional.empty();
        }
        Checkpointer c = checkpointer.get();
        Reading reading = Reading.of(snapshot.at(), c, snapshot.server().inRecovery());
        Span span = history.add(reading, config.window());
        if (span == null) {
            return Optional.of(List.of(Evaluation.held(SUBJECT)));
        }
        if (span.checkpoints() < config.minCheckpoints() && span.requested() > 0) {
            return Optional.of(List.of(Evaluation.held(SUBJECT)));
        }
        long byWal = forcedByWal(span, c);
        double share = span.checkpoints() == 0 ? 0 : (double) byWal / span.checkpoints();
        Severity severity = span.checkpoints() >= config.minCheckpoints() && share >= warning() ? Severity.WARNING : null;
        String what = what(reading.source());
        String message = describe(span, reading.source(), c) + otherCauses(span, c, byWal, what)
                + (severity == null ? "." : ". " + advise(span, c, what));
        return Optional.of(List.of(Evaluation.measured(SUBJECT, share, severity, warning(), message)));
    }

    /** "9 of 12 checkpoints in the last 60 min were requested (75%), 3 timed; max_wal_size ..." */
    static String describe(Span span, String source, Checkpointer c) {
        return String.format(Locale.ROOT,
                "%d of %d %s in the last %s were requested (%.0f%%), %d timed; max_wal_size is %s, checkpoint_timeout %s;"
                        + " %s",
                span.requested(), span.checkpoints(), what(source), duration(span.seconds()), span.requestedShare() * 100,
                span.checkpoints() - span.requested(), bytes(c.maxWalSizeBytes()), duration(c.checkpointTimeoutSeconds()),
                span.walBytes() == null ? "the WAL written in that time is unknown"
                        : bytes(span.walBytes()) + " of WAL was written in that time");
    }

    /**
     * What to do, checked against the WAL written: a WAL-triggered checkpoint comes after about
     * {@code max_wal_size / (1 + checkpoint_completion_target)} of WAL, so that WAL can explain at
     * most about twice its multiple of those (plus the one that was due when the window began).
     */
    static String advise(Span span, Checkpointer c, String what) {
        String advice = "WAL volume forces " + what + " before checkpoint_timeout: raise max_wal_size so that " + what
                + " come from checkpoint_timeout (pg_wal needs that much disk)";
        if (span.walBytes() == null || span.seconds() <= 0) {
            return advice + ".";
        }
        double perTimeout = span.walBytes() / span.seconds() * c.checkpointTimeoutSeconds();
        double needed = perTimeout * (1 + c.checkpointCompletionTarget());
        if (needed > c.maxWalSizeBytes()) {
            return advice + String.format(Locale.ROOT,
                    ": at this window's rate %s of WAL is written per checkpoint_timeout, so max_wal_size should be at"
                            + " least %s (that × (1 + checkpoint_completion_target %.2g)).",
                    bytes((long) perTimeout), bytes((long) Math.ceil(needed)), c.checkpointCompletionTarget());
        }
        return advice + String.format(Locale.ROOT,
                ": the WAL came in bursts (the window's average rate, %s per checkpoint_timeout, would fit), so raise it"
                        + " in steps, e.g. to %s, and watch pg_checkpoints_requested_total.",
                bytes((long) perTimeout), bytes(2 * c.maxWalSizeBytes()));
    }

    /**
     * The requested checkpoints the window's WAL can account for: a WAL-triggered one comes after about
     * {@code max_wal_size / (1 + checkpoint_completion_target)} of WAL, so at most twice that many
     * (plus the one that was due when the window began). All of them when the WAL is unknown.
     */
    static long forcedByWal(Span span, Checkpointer c) {
        if (span.walBytes() == null) {
            return span.requested();
        }
        double trigger = c.maxWalSizeBytes() / (1 + c.checkpointCompletionTarget());
        return Math.min(span.requested(), (long) Math.floor(2 * span.walBytes() / trigger) + 1);
    }

    /** What the message says of requested checkpoints that the WAL written does not account for. */
    static String otherCauses(Span span, Checkpointer c, long byWal, String what) {
        if (span.requested() <= byWal) {
            return "";
        }
        double trigger = c.maxWalSizeBytes() / (1 + c.checkpointCompletionTarget());
        return String.format(Locale.ROOT,
                ". That WAL explains at most %d requested %s (one per about %s): the other %d were requested another"
                        + " way (a CHECKPOINT command, base backups with pg_backup_start or pg_basebackup, CREATE or DROP"
                        + " DATABASE, a restart), which raising max_wal_size would not prevent; the server log shows what"
                        + " requests them with log_checkpoints = on (\"checkpoint starting: immediate force wait\")",
                byWal, what, bytes((long) trigger), span.requested() - byWal);
    }

    /** "checkpoints", or on a standby "restartpoints". */
    static String what(String source) {
        return source.startsWith("restartpoints") ? "restartpoints" : "checkpoints";
    }

    static String bytes(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return bytes >= 1024 ? String.format(Locale.ROOT, "%.1f kiB", bytes / 1024.0) : bytes + " bytes";
    }

    static String duration(double seconds) {
        if (seconds >= 3600 && seconds % 3600 == 0) {
            return (long) (seconds / 3600) + " h";
        }
        return seconds >= 120 ? String.format(Locale.ROOT, "%.0f min", seconds / 60)
                : String.format(Locale.ROOT, "%.0f s", seconds);
    }
}
