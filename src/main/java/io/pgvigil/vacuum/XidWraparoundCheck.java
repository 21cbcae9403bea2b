package io.pgvigil.vacuum;

import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;

import jakarta.inject.Singleton;

import io.pgvigil.config.PgvigilConfig;
import io.pgvigil.core.CheckSpec;
import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Snapshot;
import io.pgvigil.horizon.XminHorizonCheck;
import io.pgvigil.horizon.XminHorizonCollector.Holder;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;
import io.pgvigil.core.SubjectKind;
import io.pgvigil.core.ThresholdCheck;
import io.pgvigil.core.Unit;
import io.pgvigil.core.Window;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.Relations.Visit;
import io.pgvigil.relations.RelationSubjects;
import io.pgvigil.relations.RelationsCollector.Frozen;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAge;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAges;
import io.pgvigil.vacuum.ProgressVacuumCollector.Autovacuum;
import io.pgvigil.vacuum.ProgressVacuumCollector.Running;

/**
 * {@code xid_wraparound}: how close each database is to transaction ID wraparound, every poll. The
 * value is the larger of {@code age(datfrozenxid)} and {@code mxid_age(datminmxid)} as a fraction of
 * 2^31 (2,147,483,648): both IDs wrap around that far after the oldest one still unfrozen, and
 * PostgreSQL stops assigning new ones a few million before (3 million since 14, 1 million on 13),
 * which the fraction leaves out: at the warning (0.5) and critical (0.75) levels the difference is
 * 0.1 %. The message gives both ages, how far each is past {@code autovacuum_freeze_max_age} /
 * {@code autovacuum_multixact_freeze_max_age} (from where autovacuum vacuums tables to prevent
 * wraparound, even when it is off), and names the oldest tables of the database as its latest visit
 * read them (TOAST tables counted under their table), so that the table to {@code VACUUM}
 * first is known; system catalogs and other sessions' temporary tables are named when they are older
 * still. Subject: the database, every database (templates included).
 */
@Singleton
public class XidWraparoundCheck extends ThresholdCheck {

    public static final String ID = "xid_wraparound";
    /** Transaction and MultiXact IDs wrap around 2^31 after the oldest one still in use. */
    public static final double LIMIT = 2147483648.0;
    public static final CheckSpec SPEC = CheckSpec.of(ID, Unit.RATIO, SubjectKind.DATABASE,
            "the larger of age(datfrozenxid) and mxid_age(datminmxid), as a fraction of the 2^31 at which IDs wrap around",
            "Database {{ $labels.subject }} is heading for transaction ID wraparound", XidWraparoundCheck::new);

    public XidWraparoundCheck(PgvigilConfig config) {
        super(SPEC, config.checks().xidWraparound(), config.checks().xidWraparound().warning(),
                config.checks().xidWraparound().critical());
    }

    @Override
    public Optional<List<Evaluation>> evaluate(Snapshot snapshot, Window window) {
        Optional<DatabaseAges> ages = snapshot.get(DatabaseAges.class);
        if (ages.isEmpty()) {
            return Optional.empty();
        }
        Relations relations = snapshot.get(Relations.class).orElse(Relations.NONE);
        Optional<Autovacuum> autovacuum = snapshot.get(Autovacuum.class);
        List<Evaluation> evaluations = new ArrayList<>();
        for (DatabaseAge db : ages.get().databases()) {
            double xid = db.xidAge() / LIMIT;
            double mxid = db.mxidAge() / LIMIT;
            String message = message(db, ages.get(), relations, autovacuum.orElse(null),
                    snapshot.server().inRecovery()) + horizon(db, snapshot.get(Horizon.class));
            evaluations.add(Evaluation.above(db.datname(), Math.max(xid, mxid), warning(), critical(), message));
        }
        return Optional.of(evaluations);
    }

    /**
     * The finding's message. {@code standby}: the server replays the primary's freezing, so what to run
     * is run on the primary.
     */
    static String message(DatabaseAge db, DatabaseAges ages, Relations relations, Autovacuum autovacuum,
            boolean standby) {
        boolean multixact = db.mxidAge() > db.xidAge();
        String xid = age("transaction ID", db.xidAge(), "autovacuum_freeze_max_age", ages.freezeMaxAge());
        String mxid = age("MultiXact ID", db.mxidAge(), "autovacuum_multixact_freeze_max_age",
                ages.multixactFreezeMaxAge());
        StringBuilder sb = new StringBuilder("database ").append(db.datname()).append(": ")
                .append(multixact ? mxid : xid).append("; ").append(multixact ? xid : mxid).append(". ");
        if (standby) {
            sb.append("This server is a standby: its ages are the primary's, and VACUUM runs on the primary. ");
        }
        ToLongFunction<Frozen> age = multixact ? Frozen::mxidAge : Frozen::xidAge;
        DatabaseState state = relations.databases().get(db.datname());
        // Plain VACUUM, not FREEZE: past vacuum_freeze_table_age (150 M by default, always true at these
        // ages) a VACUUM is aggressive and advances relfrozenxid/relminmxid; FREEZE does more work than
        // needed (PostgreSQL's documentation says not to use it to recover). vacuumdb picks the tables
        // older than half the database's age, the oldest ones.
        String vacuumdb = "vacuumdb --dbname=" + shellWord(db.datname()) + (multixact
                ? " --min-mxid-age=" + Math.max(1, db.mxidAge() / 2) : " --min-xid-age=" + Math.max(1, db.xidAge() / 2));
        if (db.invalid()) {
            sb.append("It is an invalid database (datconnlimit = -2, left by an interrupted DROP DATABASE): nobody can"
                    + " connect to vacuum it, and its age holds the server's back. Finish dropping it: DROP DATABASE ")
                    .append(identifier(db.datname()));
        } else if (state == null && !db.allowsConnections()) {
            sb.append("It does not allow connections (datallowconn is false), so pgvigil cannot list its tables."
                    + " Autovacuum freezes it once it passes the freeze max age; if its age keeps growing, allow"
                    + " connections for a moment (ALTER DATABASE ").append(identifier(db.datname()))
                    .append(" ALLOW_CONNECTIONS true), run ").append(vacuumdb).append(" and disallow them again");
        } else if (state == null) {
            sb.append("Its oldest tables are not known: ").append(unvisited(db, relations)).append(". Find them with"
                    + " the query of the xid_wraparound runbook and run VACUUM (VERBOSE) on them, oldest first,"
                    + " or on every table of the database past half its age: ").append(vacuumdb);
        } else {
            List<Frozen> oldest = oldest(state.current().oldest(), age);
            if (oldest.isEmpty()) {
                sb.append("Its visit of ").append(state.at().truncatedTo(ChronoUnit.SECONDS))
                        .append(" found no table; vacuum the database: ").append(vacuumdb);
            } else {
                sb.append("Oldest ").append(multixact ? "by MultiXact ID age" : "by transaction ID age")
                        .append(" at the visit of ").append(state.at().truncatedTo(ChronoUnit.SECONDS))
                        .append(state.fresh() ? "" : " (the latest visit failed)").append(": ");
                for (int i = 0; i < oldest.size(); i++) {
                    Frozen f = oldest.get(i);
                    sb.append(i == 0 ? "" : ", ").append(describe(f)).append(' ')
                            .append(String.format(Locale.ROOT, "%,d", age.applyAsLong(f)));
                }
                List<Frozen> vacuumable = oldest.stream().filter(f -> f.kind() != Frozen.Kind.TEMPORARY).toList();
                if (!vacuumable.isEmpty()) {
                    Frozen first = vacuumable.get(0);
                    sb.append(". Run VACUUM (VERBOSE) ")
                            .append(RelationSubjects.qualified(first.schema(), first.name()))
                            .append(vacuumable.size() > 1 ? " first, then the next ones," : "")
                            .append(" or every table of the database past half its age: ").append(vacuumdb);
                    if (vacuumable.stream().anyMatch(f -> f.kind() == Frozen.Kind.CATALOG)) {
                        sb.append("; system tables need a superuser or the database owner");
                    }
                }
                oldest.stream().filter(f -> f.kind() == Frozen.Kind.TEMPORARY).findFirst().ifPresent(f -> sb
                        .append(". Only the session that created ").append(RelationSubjects.qualified(f.schema(), f.name()))
                        .append(" can vacuum it (VACUUM skips other sessions' temporary tables): ending that session"
                                + " drops it and lets the database's age go down at the next VACUUM"));
            }
        }
        running(db.datname(), state, autovacuum).ifPresent(r -> sb.append(". ").append(r));
        return sb.toString();
    }

    /**
     * What holds the xmin horizon back, when it holds this database's age up: no VACUUM can freeze a
     * transaction ID newer than the horizon, so the age cannot go below the horizon's. Named when the
     * horizon is at least half the database's age; otherwise the general hint.
     */
    static String horizon(DatabaseAge db, Optional<Horizon> horizon) {
        long age = Math.max(db.xidAge(), 1);
        Optional<Holder> holder = horizon.flatMap(Horizon::oldest).filter(h -> h.age() * 2 >= age);
        if (holder.isPresent()) {
            return String.format(Locale.ROOT, ". The xmin horizon is %,d transactions behind, held by %s: no VACUUM"
                    + " can bring the age below that until it lets go (see xmin_horizon)", holder.get().age(),
                    XminHorizonCheck.name(holder.get()));
        }
        return ". If VACUUM does not bring the age down, something holds the xmin horizon back (a long-running or"
                + " prepared transaction, a replication slot, a standby's feedback: see xmin_horizon)";
    }

    /** "transaction ID age 1,199,999,284 (55.9% of 2^31; 999,999,284 past autovacuum_freeze_max_age 200,000,000 ...)". */
    private static String age(String what, long age, String setting, long maxAge) {
        String against = age > maxAge
                ? String.format(Locale.ROOT, "%,d past %s %,d, from where autovacuum vacuums to prevent wraparound",
                        age - maxAge, setting, maxAge)
                : String.format(Locale.ROOT, "below %s %,d", setting, maxAge);
        return String.format(Locale.ROOT, "%s age %,d (%.1f%% of 2^31; %s)", what, age, age / LIMIT * 100, against);
    }

    /**
     * The oldest user tables by {@code age} (up to three), and a system table or another session's
     * temporary table where one is older than the youngest of those (or there is no user table); of
     * those, the ones at least half as old as the oldest: a table far younger does not hold the
     * database's age up.
     */
    static List<Frozen> oldest(List<Frozen> candidates, ToLongFunction<Frozen> age) {
        Comparator<Frozen> oldestFirst = Comparator.comparingLong(age).reversed().thenComparing(Frozen::schema)
                .thenComparing(Frozen::name);
        List<Frozen> tables = candidates.stream().filter(f -> f.kind() == Frozen.Kind.TABLE).sorted(oldestFirst)
                .limit(3).toList();
        long youngest = tables.isEmpty() ? Long.MIN_VALUE : age.applyAsLong(tables.get(tables.size() - 1));
        List<Frozen> named = new ArrayList<>(tables);
        for (Frozen.Kind kind : List.of(Frozen.Kind.CATALOG, Frozen.Kind.TEMPORARY)) {
            candidates.stream().filter(f -> f.kind() == kind).sorted(oldestFirst).findFirst()
                    .filter(f -> age.applyAsLong(f) > youngest).ifPresent(named::add);
        }
        named.sort(oldestFirst);
        long half = named.isEmpty() ? 0 : age.applyAsLong(named.get(0)) / 2;
        return named.stream().filter(f -> age.applyAsLong(f) >= half).toList();
    }

    /** A database name as SQL needs it. */
    private static String identifier(String name) {
        return name.matches("[a-z_][a-z0-9_$]*") ? name : '"' + name.replace("\"", "\"\"") + '"';
    }

    /** A word a shell takes as it is. */
    private static String shellWord(String word) {
        return word.matches("[A-Za-z0-9_.-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    private static String describe(Frozen f) {
        String name = RelationSubjects.qualified(f.schema(), f.name());
        return switch (f.kind()) {
            case TABLE -> name;
            case CATALOG -> "system table " + name;
            case TEMPORARY -> "another session's temporary table " + name;
        };
    }

    /** Why pgvigil has no table list for a database that allows connections. */
    private static String unvisited(DatabaseAge db, Relations relations) {
        Optional<Visit> failed = relations.visits().stream()
                .filter(v -> v.datname().equals(db.datname()) && !v.success()).findFirst();
        if (failed.isPresent()) {
            return "pgvigil could not visit it (" + failed.get().error() + ")";
        }
        if (db.template()) {
            return "pgvigil does not visit template databases";
        }
        return "not visited yet (pgvigil visits each database every pgvigil.indexes.interval, unless visits are off or"
                + " pgvigil.databases.include / exclude leave it out)";
    }

    /**
     * "VACUUM (autovacuum) is running on public.big now (phase scanning heap)", when a vacuum runs in the
     * database; {@code state} (the latest visit, for the table's name) may be null.
     */
    private static Optional<String> running(String datname, DatabaseState state, Autovacuum autovacuum) {
        if (autovacuum == null) {
            return Optional.empty();
        }
        for (Running r : autovacuum.running()) {
            if (!r.cleans() || !datname.equals(r.datname())) {
                continue;
            }
            Stream<Table> tables = state == null ? Stream.empty() : state.current().tables().stream();
            String table = tables.filter(t -> t.relid() == r.relid()).findFirst()
                    .map(t -> RelationSubjects.qualified(t.schema(), t.name())).orElse("the relation with oid " + r.relid());
            return Optional.of(r.command() + (r.autovacuum() ? " (autovacuum)" : "") + " is running on " + table
                    + " now (phase " + r.phase() + ")");
        }
        return Optional.empty();
    }
}
