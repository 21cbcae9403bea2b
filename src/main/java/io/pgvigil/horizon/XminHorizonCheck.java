package io.pgvigil.horizon;

import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

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
import io.pgvigil.horizon.XminHorizonCollector.Holder;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;

/**
 * {@code xmin_horizon}: how many transactions the xmin horizon is behind the next transaction ID,
 * that is how far back vacuum must keep the rows that transactions deleted, and what holds it there:
 * a backend, a prepared transaction, a replication slot or a standby's feedback (see
 * {@link XminHorizonCollector}). Subject: {@code server}, so one finding stays open while the horizon
 * stays behind, whichever holder it is; the message names the oldest holder (and the next kind, when
 * another holds it back too) and what to do about it.
 *
 * <p>Critical is {@code pgvigil.checks.xmin-horizon.critical} or, unset, the server's own
 * {@code autovacuum_freeze_max_age} as read in the poll: from there on autovacuum runs
 * anti-wraparound vacuums that cannot freeze beyond the horizon, so the way to wraparound is open.
 */
@Singleton
public class XminHorizonCheck extends ThresholdCheck {

    public static final String ID = "xmin_horizon";
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.TRANSACTIONS, SubjectKind.SERVER,
            "transactions the xmin horizon is behind the next transaction ID, held by a backend, a prepared"
                    + " transaction, a replication slot or a standby's feedback",
            "Vacuum is held back: the xmin horizon is far behind", XminHorizonCheck::new);

    static final String FREEZE_MAX_AGE = "autovacuum_freeze_max_age";

    private final long warning;
    private final OptionalLong configuredCritical;
    /** The critical threshold of the last evaluation: configured, or the server's setting. */
    private volatile Long lastCritical;

    public XminHorizonCheck(PgvigilConfig config) {
        // The critical threshold may come from the server: thresholds() is overridden, not the base's.
        super(SPEC, config.checks().xminHorizon(), config.checks().xminHorizon().warning(), Double.NaN);
        this.warning = config.checks().xminHorizon().warning();
        this.configuredCritical = config.checks().xminHorizon().critical();
        this.lastCritical = configuredCritical.isPresent() ? configuredCritical.getAsLong() : null;
    }

    @Override
    public Map<Severity, Double> thresholds() {
        Map<Severity, Double> thresholds = new EnumMap<>(Severity.class);
        thresholds.put(Severity.WARNING, (double) warning);
        Long c = lastCritical;
        if (c != null) {
            thresholds.put(Severity.CRITICAL, c.doubleValue());
        }
        return thresholds;
    }

    @Override
    public String serverThreshold(Severity severity) {
        return severity == Severity.CRITICAL && configuredCritical.isEmpty() ? FREEZE_MAX_AGE : null;
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<Horizon> horizon = snapshot.get(Horizon.class);
        if (horizon.isEmpty()) {
            return Optional.empty();
        }
        long critical = configuredCritical.orElse(horizon.get().freezeMaxAge());
        this.lastCritical = critical;
        long age = horizon.get().age();
        return Optional.of(List.of(Evaluation.above("server", age, warning, critical,
                message(horizon.get()))));
    }

    /** The sentence of a finding: how far behind, who holds it, what that blocks, what to do. */
    static String message(Horizon horizon) {
        Optional<Holder> oldest = horizon.oldest();
        if (oldest.isEmpty()) {
            return "nothing holds the xmin horizon back: no backend has a snapshot or a transaction ID, and no"
                    + " prepared transaction, replication slot or standby holds one";
        }
        Holder h = oldest.get();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "the xmin horizon is %,d transactions behind", h.age()));
        if (h.age() >= horizon.freezeMaxAge()) {
            sb.append(String.format(Locale.ROOT, ", past %s (%,d): anti-wraparound autovacuums cannot freeze"
                    + " beyond it and transaction-ID wraparound comes closer", FREEZE_MAX_AGE, horizon.freezeMaxAge()));
        }
        sb.append("; held by ").append(describe(h)).append(". ").append(advice(h));
        List<String> others = new ArrayList<>();
        for (Holder other : horizon.holders().subList(1, horizon.holders().size())) {
            others.add(String.format(Locale.ROOT, "%s (%,d behind)", name(other), other.age()));
        }
        if (!others.isEmpty()) {
            sb.append(". Also holding it: ").append(String.join(", ", others));
        }
        return sb.toString();
    }

    /** The holder by kind and id, as the message names it first (xid_wraparound names it too). */
    public static String name(Holder h) {
        return switch (h.kind()) {
            case BACKEND -> h.backendType() + " pid " + h.pid();
            case PREPARED_TRANSACTION -> "prepared transaction '" + h.name() + "'";
            case REPLICATION_SLOT -> h.slotType() + " replication slot '" + h.name() + "'";
            case STANDBY -> "standby '" + h.name() + "'";
        };
    }

    private static String describe(Holder h) {
        return switch (h.kind()) {
            case BACKEND -> String.format(Locale.ROOT, "%s (%s%s) with its %s%s", name(h), backendDetails(h),
                    h.since() == null ? "" : "; transaction open since " + since(h),
                    "backend_xid".equals(h.field()) ? "transaction ID" : "snapshot",
                    h.query() == null || h.query().isEmpty() ? "" : "; query: " + h.query());
            case PREPARED_TRANSACTION -> String.format(Locale.ROOT, "%s (owner %s, database %s, prepared at %s)",
                    name(h), h.owner(), h.database(), since(h));
            case REPLICATION_SLOT -> String.format(Locale.ROOT, "%s%s (%s) with its %s", name(h),
                    h.database() == null ? "" : " of database " + h.database(),
                    Boolean.TRUE.equals(h.active()) ? "active, pid " + h.pid()
                            : "inactive" + (h.since() == null ? "" : " since " + since(h)),
                    h.field());
            case STANDBY -> String.format(Locale.ROOT,
                    "%s (client %s, WAL sender pid %d) through hot_standby_feedback", name(h), client(h), h.pid());
        };
    }

    /** "user app, application 'billing', client 10.0.0.5, database shop, idle in transaction"; what is known. */
    private static String backendDetails(Holder h) {
        List<String> parts = new ArrayList<>();
        if (h.owner() != null) {
            parts.add("user " + h.owner());
        }
        if (h.name() != null && !h.name().isEmpty()) {
            parts.add("application '" + h.name() + "'");
        }
        if ("client backend".equals(h.backendType())) {
            parts.add("client " + client(h));
        }
        if (h.database() != null) {
            parts.add("database " + h.database());
        }
        if (h.state() != null) {
            parts.add(h.state());
        }
        return String.join(", ", parts);
    }

    private static String advice(Holder h) {
        // A backend or a prepared transaction holds vacuum back in its own database (and on the shared
        // catalogs): the horizon of other databases ignores it. Slots and standby feedback hold every database.
        String inDatabase = h.database() == null ? "" : " in database " + h.database() + " (and the shared catalogs)";
        String blocks = "Vacuum cannot remove the rows deleted after it, nor freeze past it";
        String local = blocks + inDatabase;
        return switch (h.kind()) {
            case BACKEND -> local + ". " + backendAdvice(h);
            case PREPARED_TRANSACTION -> String.format(Locale.ROOT, "%s, and a prepared transaction stays, through"
                    + " disconnects and restarts, until it is resolved: resolve it with the transaction manager that"
                    + " prepared it or, connected to database %s as %s or a superuser, run COMMIT PREPARED %s or"
                    + " ROLLBACK PREPARED %s", local, h.database(), h.owner(), literal(h.name()), literal(h.name()));
            case REPLICATION_SLOT -> slotAdvice(h);
            case STANDBY -> blocks + ". A long query or transaction on that standby holds it: end it there, or set"
                    + " hot_standby_feedback = off on the standby (its queries may then be cancelled by recovery"
                    + " conflicts)";
        };
    }

    private static String backendAdvice(Holder h) {
        String state = h.state() == null ? "" : h.state();
        if (state.startsWith("idle in transaction")) {
            return String.format(Locale.ROOT, "The session is idle in its transaction: the application must COMMIT"
                    + " or ROLLBACK; to end it now, SELECT pg_terminate_backend(%d)"
                    + " (idle_in_transaction_session_timeout ends such sessions by itself)", h.pid());
        }
        if (state.equals("active")) {
            return String.format(Locale.ROOT, "Let its query finish or cancel it: SELECT pg_cancel_backend(%d)"
                    + " (pg_terminate_backend(%d) ends the session)", h.pid(), h.pid());
        }
        return String.format(Locale.ROOT, "If it should not run that long, end it: SELECT pg_terminate_backend(%d)",
                h.pid());
    }

    private static String slotAdvice(Holder h) {
        String drop = "SELECT pg_drop_replication_slot(" + literal(h.name()) + ")";
        boolean active = Boolean.TRUE.equals(h.active());
        if ("catalog_xmin".equals(h.field())) {
            String blocks = "Vacuum cannot remove dead rows of the system catalogs after it, and no database's"
                    + " datfrozenxid can advance past it (transaction-ID wraparound)";
            return blocks + ". " + (active
                    ? String.format(Locale.ROOT, "Its consumer (pid %d) is connected: a slot's catalog_xmin cannot"
                            + " pass the oldest transaction that was running, so first look for an old transaction or"
                            + " prepared transaction on the server; otherwise the consumer does not confirm progress: find"
                            + " out why it lags; if it is abandoned, stop it and %s", h.pid(), drop)
                    : "If nothing will read from it again, drop it: " + drop
                            + "; otherwise start its consumer, which moves catalog_xmin as it confirms changes");
        }
        String blocks = "Vacuum cannot remove the rows deleted after it, nor freeze past it";
        if ("physical".equals(h.slotType())) {
            return blocks + ". It is the hot_standby_feedback of the standby that uses the slot: " + (active
                    ? "a long query or transaction on that standby holds it; end it there, or set"
                            + " hot_standby_feedback = off on the standby (its queries may then be cancelled by"
                            + " recovery conflicts)"
                    : "no standby is connected and its last feedback stays; if it will not come back, drop the slot: "
                            + drop);
        }
        return blocks + ". If nothing will read from the slot again, drop it: " + drop;
    }

    private static String client(Holder h) {
        return h.client() == null ? "local socket" : h.client();
    }

    /** "2025-05-01T10:00:00Z (3.2 h ago)", or "an unknown time". */
    private static String since(Holder h) {
        if (h.since() == null) {
            return "an unknown time";
        }
        String at = h.since().truncatedTo(ChronoUnit.SECONDS).toString();
        return h.sinceSeconds() == null ? at : at + " (" + ago(h.sinceSeconds()) + " ago)";
    }

    /** "45 s", "12 min", "3.2 h", "4.5 days". */
    static String ago(double seconds) {
        if (seconds < 120) {
            return String.format(Locale.ROOT, "%.0f s", seconds);
        }
        if (seconds < 7200) {
            return String.format(Locale.ROOT, "%.0f min", seconds / 60);
        }
        if (seconds < 172800) {
            return String.format(Locale.ROOT, "%.1f h", seconds / 3600);
        }
        return String.format(Locale.ROOT, "%.1f days", seconds / 86400);
    }

    /** A string as an SQL literal, so that the statement can be pasted as it is. */
    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
