package io.pgvigil.replication;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.core.Snapshot;
import io.pgvigil.replication.StatReplicationCollector.Standby;
import io.pgvigil.replication.StatReplicationCollector.Standbys;
import io.pgvigil.replication.WalReceiverCollector.Receiver;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code replication_lag}: how far behind a standby is, in seconds (and optionally bytes).
 * <ul>
 * <li>On a primary, per standby (subject: its application_name): {@code replay_lag} of
 * pg_stat_replication, 0 when PostgreSQL has cleared it (a standby that caught up on an idle
 * primary). PostgreSQL refreshes it when the standby reports, every
 * {@code wal_receiver_status_interval} (10 s by default).</li>
 * <li>On a standby (subject: {@code self}): 0 when everything received has been replayed, else the
 * age of the last replayed transaction, or the time replay has not advanced while WAL waits (the
 * larger: after a restart no transaction may have been replayed yet). If the WAL receiver is not
 * streaming, the time since it stopped counts too: a stream that died receives nothing, which must
 * not read as "no lag".</li>
 * </ul>
 */
@Singleton
public class ReplicationLagCheck extends ThresholdCheck {

    public static final String ID = "replication_lag";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.SECONDS, SubjectKind.SELF_OR_STANDBY,
            "seconds behind, idle-primary-safe; optional bytes",
            "Standby {{ $labels.subject }} is lagging", ReplicationLagCheck::new);
    public static final String SELF = "self";

    private final PgvigilConfig.ReplicationLag config;
    private Instant notStreamingSince;
    /** Where replay stood, and since when, while WAL was waiting to be replayed. */
    private Long replayedAt;
    private Instant replayStuckSince;

    public ReplicationLagCheck(PgvigilConfig config) {
        super(SPEC, config.checks().replicationLag(), seconds(config.checks().replicationLag().warning()),
                seconds(config.checks().replicationLag().critical()));
        this.config = config.checks().replicationLag();
    }

    @Override
    public synchronized Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Standbys> standbys = snapshot.get(Standbys.class);
        Optional<Receiver> receiver = snapshot.get(Receiver.class);
        if (standbys.isEmpty() && receiver.isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        standbys.ifPresent(list -> list.standbys().forEach(s -> evaluations.add(standby(s))));
        receiver.ifPresentOrElse(r -> evaluations.add(self(r, snapshot.at())), () -> {
            notStreamingSince = null;
            replayStuckSince = null;
        });
        return Optional.of(evaluations);
    }

    private Evaluation standby(Standby s) {
        String subject = s.applicationName() == null || s.applicationName().isEmpty() ? s.clientAddr() : s.applicationName();
        double seconds = s.replayLagSeconds() == null ? 0 : s.replayLagSeconds();
        String message = String.format(java.util.Locale.ROOT,
                "standby '%s' (%s, %s, %s) replays %.1f s behind the primary, %s of WAL not yet replayed",
                subject, s.clientAddr().isEmpty() ? "local socket" : s.clientAddr(), s.state(), s.syncState(), seconds,
                mib(s.replayLagBytes()));
        return judge(subject, seconds, s.replayLagBytes(), message);
    }

    private Evaluation self(Receiver r, Instant at) {
        double stalled = 0;
        if (r.streaming()) {
            notStreamingSince = null;
        } else {
            if (notStreamingSince == null) {
                notStreamingSince = at;
            }
            stalled = Duration.between(notStreamingSince, at).toNanos() / 1e9;
        }
        double stuck = 0;
        if (r.replayLagBytes() != null && r.replayLagBytes() > 0) {
            if (replayStuckSince == null || !java.util.Objects.equals(replayedAt, r.replayedBytes())) {
                replayedAt = r.replayedBytes();
                replayStuckSince = at;
            }
            stuck = Duration.between(replayStuckSince, at).toNanos() / 1e9;
        } else {
            replayStuckSince = null;
        }
        double replay = Math.max(r.replayLagSeconds() == null ? 0 : r.replayLagSeconds(), stuck);
        double seconds = Math.max(replay, stalled);
        String message;
        if (!r.streaming()) {
            message = String.format(java.util.Locale.ROOT,
                    "the WAL receiver is not streaming (status: %s) for %.0f s: this standby receives nothing from the"
                            + " primary%s, so its lag is unknown and growing; %s received but not replayed",
                    r.status() == null ? "no receiver running" : r.status(), stalled,
                    r.senderHost() == null ? "" : " at " + r.senderHost() + ":" + r.senderPort(), mib(r.replayLagBytes()));
        } else {
            message = String.format(java.util.Locale.ROOT,
                    "this standby is %.1f s behind: %s received but not yet replayed%s", replay, mib(r.replayLagBytes()),
                    stuck > 0 ? String.format(java.util.Locale.ROOT, "; replay has not advanced for %.0f s", stuck) : "");
        }
        return judge(SELF, seconds, r.replayLagBytes(), message);
    }

    /** Whichever of seconds and (optional) bytes is worse decides; the value reported is the seconds. */
    private Evaluation judge(String subject, double seconds, Long bytes, String message) {
        double warning = seconds(config.warning());
        double critical = seconds(config.critical());
        Severity severity = Severity.above(seconds, warning, critical);
        if (bytes != null && (config.warningBytes().isPresent() || config.criticalBytes().isPresent())) {
            Severity byBytes = Severity.above(bytes,
                    config.warningBytes().map(m -> (double) m.asLongValue()).orElse(Double.MAX_VALUE),
                    config.criticalBytes().map(m -> (double) m.asLongValue()).orElse(Double.MAX_VALUE));
            if (byBytes != null && (severity == null || byBytes.compareTo(severity) > 0)) {
                severity = byBytes;
            }
        }
        return Evaluation.measured(subject, seconds, severity, severity == Severity.CRITICAL ? critical : warning, message);
    }

    private static String mib(Long bytes) {
        return bytes == null ? "an unknown amount" : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

}
