package io.pgvigil.vacuum;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.core.Snapshot;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;
import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.vacuum.ProgressVacuumCollector.Autovacuum;
import io.pgvigil.vacuum.ProgressVacuumCollector.Settings;

/**
 * {@code vacuum_lag}: a table whose dead rows ({@code n_dead_tup}) stand at a multiple of its own
 * autovacuum trigger ({@link AutovacuumTrigger}), with at least {@code min-dead-tuples} of them: autovacuum
 * is off (on the table or the server) or has not kept up. Judged on what the database visits read; a
 * table that a VACUUM (or VACUUM FULL, CLUSTER) is processing ({@code pg_stat_progress_vacuum}, read
 * every poll) is held, neither opened nor cleared, from the poll that sees it until the first visit
 * after the poll that no longer does: until then the visit's dead rows are stale, and judging them
 * would open a finding for a table just cleaned, for a minute. Tables of a database whose latest
 * visit failed are held too. Warning only.
 * Subject: {@code database.schema.table}.
 */
@Singleton
public class VacuumLagCheck extends ThresholdCheck {

    public static final String ID = "vacuum_lag";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.TRIGGER_MULTIPLE, SubjectKind.TABLE,
            "a table's dead rows / its own autovacuum trigger (threshold + scale factor × reltuples, its own settings"
                    + " first; ≥ min-dead-tuples; not while it is being vacuumed)",
            "Autovacuum is behind on table {{ $labels.subject }}", VacuumLagCheck::new)
            .only(Severity.WARNING).alertAfter(Duration.ofMinutes(15));

    private final long minDeadTuples;
    private final double clearMargin;
    /** Tables judged in the last poll (at or over the minimum of dead rows). */
    private java.util.Set<String> judged = java.util.Set.of();
    /**
     * Tables seen being vacuumed, with the visit their numbers were from at the time: their dead rows
     * are stale until a later visit, even once the VACUUM has ended. Only tables judged in the last
     * poll are kept.
     */
    private Map<String, Instant> vacuumedSinceVisit = new HashMap<>();

    public VacuumLagCheck(PgvigilConfig config) {
        super(SPEC, config.checks().vacuumLag(), config.checks().vacuumLag().warning(), Double.POSITIVE_INFINITY);
        this.minDeadTuples = config.checks().vacuumLag().minDeadTuples();
        this.clearMargin = config.checks().vacuumLag().clearMargin();
    }

    @Override
    public Map<Severity, Double> thresholds() {
        return Map.of(Severity.WARNING, warning());
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Relations> relations = snapshot.get(Relations.class);
        Optional<Autovacuum> autovacuum = snapshot.get(Autovacuum.class);
        if (relations.isEmpty() || autovacuum.isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        Map<String, Instant> vacuumed = new HashMap<>();
        java.util.Set<String> nowJudged = new java.util.HashSet<>();
        for (DatabaseState db : relations.get().databases().values()) {
            for (Table table : db.current().tables()) {
                String subject = RelationSubjects.of(db.datname(), table.schema(), table.name());
                // A table judged before stays judged down to min-dead-tuples less the clear margin: a queue
                // table whose dead rows hover around the minimum (page pruning lowers them between visits)
                // would otherwise open and clear at every visit.
                long floor = judged.contains(subject) ? (long) Math.ceil(minDeadTuples * (1 - clearMargin)) : minDeadTuples;
                if (table.deadRows() < floor) {
                    continue;
                }
                nowJudged.add(subject);
                Instant seenAtVisit = autovacuum.get().cleaning(db.datname(), table.relid()).isPresent() ? db.at()
                        : vacuumedSinceVisit.get(subject);
                // A VACUUM is removing these rows, or did since this visit read them; or the visit is stale:
                // no verdict until a later visit.
                if (db.at().equals(seenAtVisit)) {
                    vacuumed.put(subject, seenAtVisit);
                    evaluations.add(Evaluation.held(subject));
                    continue;
                }
                if (!db.fresh()) {
                    evaluations.add(Evaluation.held(subject));
                    continue;
                }
                AutovacuumTrigger trigger = AutovacuumTrigger.of(table, autovacuum.get().settings());
                double multiple = trigger.multiple(table.deadRows());
                // Below the threshold too: an open finding clears by the clearing rule (hysteresis).
                evaluations.add(Evaluation.measured(subject, multiple, multiple >= warning() ? Severity.WARNING : null,
                        warning(), message(db, table, trigger, autovacuum.get())));
            }
        }
        vacuumedSinceVisit = vacuumed;
        judged = nowJudged;
        return Optional.of(evaluations);
    }

    static String message(DatabaseState db, Table table, AutovacuumTrigger trigger, Autovacuum autovacuum) {
        String name = RelationSubjects.qualified(table.schema(), table.name());
        Settings server = autovacuum.settings();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "table %s in database %s has %,d dead rows, %.1f times its autovacuum trigger of %,.0f (%s), at the"
                        + " visit of %s; last VACUUM: %s, last autovacuum: %s. ",
                name, db.datname(), table.deadRows(), trigger.multiple(table.deadRows()), trigger.value(),
                trigger.explain(), db.at().truncatedTo(ChronoUnit.SECONDS), when(table.lastVacuumSeconds()),
                when(table.lastAutovacuumSeconds())));
        boolean offOnTable = Boolean.FALSE.equals(table.autovacuum().enabled());
        boolean offOnServer = !server.autovacuum() || !server.trackCounts();
        if (offOnTable) {
            sb.append("Autovacuum is disabled on this table (autovacuum_enabled = false)");
        }
        if (offOnServer) {
            sb.append(offOnTable ? " and " : "Autovacuum ").append(server.autovacuum()
                    ? "cannot run on the server (track_counts = off)"
                    : (offOnTable ? "" : "is ") + "off on the server (autovacuum = off)")
                    .append(", so only anti-wraparound vacuums run");
        }
        if (offOnTable || offOnServer) {
            sb.append(": run VACUUM (VERBOSE, ANALYZE) ").append(name).append(" now");
            if (offOnTable) {
                sb.append(", and enable autovacuum on it again (ALTER TABLE ").append(name)
                        .append(" RESET (autovacuum_enabled)) unless a scheduled job vacuums it");
            }
            if (offOnServer) {
                sb.append(", and turn ").append(server.autovacuum() ? "track_counts" : "autovacuum")
                        .append(" on in postgresql.conf (a reload is enough)");
            }
            return sb.toString();
        }
        int busy = autovacuum.workers();
        sb.append(String.format(Locale.ROOT, "Autovacuum is on but has not caught up: %d of %d autovacuum workers are"
                + " busy now", busy, server.maxWorkers()));
        if (busy >= server.maxWorkers()) {
            sb.append(" (all of them: raise autovacuum_vacuum_cost_limit or lower autovacuum_vacuum_cost_delay,"
                    + " whose budget the running workers share, so more workers alone do not vacuum faster; then"
                    + " autovacuum_max_workers)");
        } else {
            sb.append(" (if autovacuum keeps starting on it, lock conflicts may cancel it: the server log says"
                    + " \"canceling autovacuum task\")");
        }
        sb.append(". Run VACUUM (VERBOSE) ").append(name).append(" now: its output says how many dead rows it could"
                + " not remove yet (an old xmin horizon keeps them: see xmin_horizon). If the table collects dead rows"
                + " faster than autovacuum comes round, ");
        if (trigger.scaleFactor() > 0.01) {
            sb.append("give it a lower trigger: ALTER TABLE ").append(name)
                    .append(" SET (autovacuum_vacuum_scale_factor = 0.01)");
        } else {
            sb.append("let autovacuum work faster on it: ALTER TABLE ").append(name)
                    .append(" SET (autovacuum_vacuum_cost_limit = 2000)");
        }
        return sb.toString();
    }

    private static String when(Double epochSeconds) {
        return epochSeconds == null ? "never"
                : Instant.ofEpochMilli((long) (epochSeconds * 1000)).truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
