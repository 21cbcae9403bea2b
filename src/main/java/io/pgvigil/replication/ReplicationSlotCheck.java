package io.pgvigil.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.replication.ReplicationSlotsCollector.Slot;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.core.Snapshot;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code replication_slot}: WAL held back by a slot that no consumer is reading (inactive). An active
 * slot's retained WAL is replication lag, judged by {@code replication_lag}. Subject: the slot name.
 */
@Singleton
public class ReplicationSlotCheck extends ThresholdCheck {

    public static final String ID = "replication_slot";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.BYTES, SubjectKind.SLOT,
            "WAL retained by an inactive slot",
            "Inactive replication slot {{ $labels.subject }} retains WAL", ReplicationSlotCheck::new);

    private final PgvigilConfig.ReplicationSlot config;

    public ReplicationSlotCheck(PgvigilConfig config) {
        super(SPEC, config.checks().replicationSlot(), config.checks().replicationSlot().warning().asLongValue(),
                config.checks().replicationSlot().critical().asLongValue());
        this.config = config.checks().replicationSlot();
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Slots> slots = snapshot.get(Slots.class);
        if (slots.isEmpty()) {
            return Optional.empty();
        }
        List<Evaluation> evaluations = new ArrayList<>();
        for (Slot s : slots.get().slots()) {
            if (s.active() || s.retainedBytes() == null) {
                continue;
            }
            String message = String.format(java.util.Locale.ROOT,
                    "inactive %s slot '%s'%s retains %.1f MiB of WAL (wal_status %s%s); the server keeps that WAL"
                            + " until a consumer reads from the slot or it is dropped with"
                            + " pg_drop_replication_slot('%s')",
                    s.slotType(), s.slotName(), s.database() == null ? "" : " of database " + s.database(),
                    s.retainedBytes() / 1048576.0, s.walStatus(),
                    s.safeWalSize() == null ? "" : String.format(java.util.Locale.ROOT, ", %.1f MiB before it is in danger",
                            s.safeWalSize() / 1048576.0),
                    s.slotName());
            evaluations.add(Evaluation.above(s.slotName(), s.retainedBytes(), config.warning().asLongValue(),
                    config.critical().asLongValue(), message));
        }
        return Optional.of(evaluations);
    }
}
