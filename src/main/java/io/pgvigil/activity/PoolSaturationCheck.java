package io.pgvigil.activity;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import jakarta.inject.Singleton;

import io.pgvigil.activity.SettingsCollector.ConnectionSettings;
import io.pgvigil.core.Snapshot;
import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.Window;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Unit;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;

/**
 * {@code pool_saturation}: client backends over the slots an ordinary client can take,
 * {@code max_connections - superuser_reserved_connections - reserved_connections}. Subject: {@code server}.
 */
@Singleton
public class PoolSaturationCheck extends ThresholdCheck {

    public static final String ID = "pool_saturation";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.SERVER,
            "client backends / usable slots",
            "Connection slots nearly exhausted", PoolSaturationCheck::new);

    private final PgvigilConfig.PoolSaturation config;

    public PoolSaturationCheck(PgvigilConfig config) {
        super(SPEC, config.checks().poolSaturation(), config.checks().poolSaturation().warning(),
                config.checks().poolSaturation().critical());
        this.config = config.checks().poolSaturation();
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Activity> activity = snapshot.get(Activity.class);
        Optional<ConnectionSettings> settings = snapshot.get(ConnectionSettings.class);
        if (activity.isEmpty() || settings.isEmpty() || settings.get().usableSlots() <= 0) {
            return Optional.empty();
        }
        ConnectionSettings s = settings.get();
        int used = activity.get().clientBackends();
        double ratio = (double) used / s.usableSlots();
        String message = String.format(java.util.Locale.ROOT,
                "%d client connections use %.0f%% of the %d usable slots (max_connections %d, %d reserved for"
                        + " superusers%s)%s",
                used, ratio * 100, s.usableSlots(), s.maxConnections(), s.superuserReservedConnections(),
                s.reservedConnections() == null ? "" : ", " + s.reservedConnections() + " reserved_connections",
                busiest(activity.get()));
        return Optional.of(List.of(Evaluation.above("server", ratio, config.warning(), config.critical(), message)));
    }

    /** "; most in database shop (12)" — where to look first. */
    private static String busiest(Activity activity) {
        return activity.byDatabaseAndState().entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue().values().stream().mapToInt(Integer::intValue).sum()))
                .max(Map.Entry.comparingByValue())
                .map(e -> "; most in database " + (e.getKey().isEmpty() ? "(none yet)" : e.getKey()) + " (" + e.getValue() + ")")
                .orElse("");
    }
}
