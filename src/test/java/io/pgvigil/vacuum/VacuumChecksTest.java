package io.pgvigil.vacuum;

import static io.pgvigil.testing.Recordings.check;
import static io.pgvigil.testing.Recordings.judge;
import static io.pgvigil.testing.Recordings.on;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Evaluation;
import io.pgvigil.core.Severity;
import io.pgvigil.horizon.XminHorizonCollector.Holder;
import io.pgvigil.horizon.XminHorizonCollector.Horizon;
import io.pgvigil.horizon.XminHorizonCollector.Kind;
import io.pgvigil.relations.Relations;
import io.pgvigil.relations.Relations.DatabaseState;
import io.pgvigil.relations.RelationsCollector.AutovacuumOptions;
import io.pgvigil.relations.RelationsCollector.Frozen;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.testing.Recordings;
import io.pgvigil.testing.Recordings.Poll;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAge;
import io.pgvigil.vacuum.DatabaseAgeCollector.DatabaseAges;
import io.pgvigil.vacuum.ProgressVacuumCollector.Autovacuum;
import io.pgvigil.vacuum.ProgressVacuumCollector.Running;
import io.pgvigil.vacuum.ProgressVacuumCollector.Settings;

/**
 * {@code vacuum_lag} and {@code xid_wraparound} on polls recorded from {@link VacuumMatrixTest}
 * (PostgreSQL 18) and {@link WraparoundTest} (Debian's PostgreSQL 15 brought near wraparound).
 */
class VacuumChecksTest {

    static final String LAG = "VacuumMatrixTest.updatesOnATableWithAutovacuumDisabledOpenVacuumLagAndVacuumClearsIt";
    static final String RUNNING = "VacuumMatrixTest.aVacuumInProgressHoldsVacuumLagUntilTheNextVisitAfterIt";
    static final String TEMPORARY = "VacuumMatrixTest.anotherSessionsTemporaryTableHoldingTheDatabaseBackIsNamed";
    static final String XID = "WraparoundTest.transactionIdsNearWraparoundOpenAWarningNamingTheOldestTableAndVacuumFreezeClearsIt";
    static final String MXID = "WraparoundTest.multixactIdsNearWraparoundOpenACriticalFindingOnTheMultixactAge";

    /**
     * Polls: the first visit (jobs 20,000 dead rows with autovacuum disabled, events 12,000 under its own
     * trigger); the next visit after a scan of lookup; a poll between visits; the visit after VACUUM jobs.
     */
    private final List<Poll> lag = Recordings.polls(LAG, 18);

    @Test
    void deadRowsAtTwiceTheTablesOwnTriggerOpenVacuumLagUntilAVacuum() {
        List<List<Evaluation>> verdicts = judge(check("vacuum_lag"), lag);
        DatabaseState first = state(lag.get(0), "vaclag");
        assertThat(verdicts.get(0)).containsExactlyInAnyOrder(
                Evaluation.measured("vaclag.public.jobs", 20000 / 4050.0, Severity.WARNING, 2.0, "table public.jobs in"
                        + " database vaclag has 20,000 dead rows, 4.9 times its autovacuum trigger of 4,050"
                        + " (autovacuum_vacuum_threshold 50 + autovacuum_vacuum_scale_factor 0.2 × 20000 rows), at the"
                        + " visit of " + first.at().truncatedTo(ChronoUnit.SECONDS) + "; last VACUUM: never, last"
                        + " autovacuum: never. Autovacuum is disabled on this table (autovacuum_enabled = false): run"
                        + " VACUUM (VERBOSE, ANALYZE) public.jobs now, and enable autovacuum on it again (ALTER TABLE"
                        + " public.jobs RESET (autovacuum_enabled)) unless a scheduled job vacuums it"),
                // Its own settings make the trigger 6,100: 12,000 dead rows are under twice that.
                Evaluation.measured("vaclag.public.events", 12000 / 6100.0, null, 2.0, "table public.events in database"
                        + " vaclag has 12,000 dead rows, 2.0 times its autovacuum trigger of 6,100 (the table's"
                        + " autovacuum_vacuum_threshold 100 + the table's autovacuum_vacuum_scale_factor 0.5 × 12000"
                        + " rows), at the visit of " + first.at().truncatedTo(ChronoUnit.SECONDS) + "; last VACUUM: never,"
                        + " last autovacuum: never. Autovacuum is disabled on this table (autovacuum_enabled = false):"
                        + " run VACUUM (VERBOSE, ANALYZE) public.events now, and enable autovacuum on it again (ALTER"
                        + " TABLE public.events RESET (autovacuum_enabled)) unless a scheduled job vacuums it"));
        assertThat(on("vaclag.public.jobs", verdicts.get(1)).severity()).isEqualTo(Severity.WARNING);
        assertThat(verdicts.get(2)).as("between two visits: the same verdicts").isEqualTo(verdicts.get(1));
        assertThat(verdicts.get(3)).as("jobs vacuumed").extracting(Evaluation::subject)
                .containsExactly("vaclag.public.events");

        assertThat(judge(check("vacuum_lag", "pgvigil.checks.vacuum-lag.min-dead-tuples", "20001"), lag).get(0))
                .as("fewer dead rows than min-dead-tuples are not judged").isEmpty();
        assertThat(on("vaclag.public.jobs", judge(check("vacuum_lag", "pgvigil.checks.vacuum-lag.warning", "5"), lag)
                .get(0)).severity()).as("4.9 times is under a warning of 5").isNull();
    }

    @Test
    void theMessageSaysWhetherAutovacuumIsOffOnTheServerOrHowManyWorkersAreBusy() {
        DatabaseState db = state(lag.get(0), "vaclag");
        Table jobs = table(db, "jobs");
        Settings on = lag.get(0).get(Autovacuum.class).settings();
        Settings off = new Settings(false, true, on.maxWorkers(), on.vacuumThreshold(), on.vacuumScaleFactor(),
                on.vacuumMaxThreshold());
        AutovacuumTrigger trigger = AutovacuumTrigger.of(jobs, on);
        assertThat(VacuumLagCheck.message(db, jobs, trigger, new Autovacuum(off, List.of())))
                .contains("Autovacuum is disabled on this table (autovacuum_enabled = false) and off on the server"
                        + " (autovacuum = off), so only anti-wraparound vacuums run: run VACUUM (VERBOSE, ANALYZE)"
                        + " public.jobs now, and enable autovacuum on it again (ALTER TABLE public.jobs RESET"
                        + " (autovacuum_enabled)) unless a scheduled job vacuums it, and turn autovacuum on in"
                        + " postgresql.conf (a reload is enough)");
        // The same table as if autovacuum were enabled on it, with every worker busy elsewhere.
        Table enabled = new Table(jobs.relid(), jobs.schema(), jobs.name(), jobs.sizeBytes(), jobs.liveRows(),
                jobs.seqScans(), jobs.seqRowsRead(), jobs.writes(), jobs.lastSeqScanSeconds(), jobs.deadRows(),
                jobs.reltuples(), jobs.heapBlocksHit(), jobs.heapBlocksRead(), jobs.lastVacuumSeconds(),
                jobs.lastAutovacuumSeconds(), jobs.xidAge(), jobs.mxidAge(), null);
        List<Running> busy = List.of(new Running(101, "a", 1, "VACUUM", "scanning heap", true),
                new Running(102, "b", 2, "VACUUM", "vacuuming indexes", true),
                new Running(103, "b", 3, "ANALYZE", "acquiring sample rows", true));
        assertThat(VacuumLagCheck.message(db, enabled, trigger, new Autovacuum(on, busy)))
                .contains("Autovacuum is on but has not caught up: 3 of 3 autovacuum workers are busy now (all of"
                        + " them: raise autovacuum_vacuum_cost_limit", "Run VACUUM (VERBOSE) public.jobs now",
                        "ALTER TABLE public.jobs SET (autovacuum_vacuum_scale_factor = 0.01)")
                .doesNotContain("disabled");
        // A table that already has a low trigger is not told to lower it.
        Table low = new Table(jobs.relid(), jobs.schema(), jobs.name(), jobs.sizeBytes(), jobs.liveRows(),
                jobs.seqScans(), jobs.seqRowsRead(), jobs.writes(), jobs.lastSeqScanSeconds(), jobs.deadRows(),
                jobs.reltuples(), jobs.heapBlocksHit(), jobs.heapBlocksRead(), jobs.lastVacuumSeconds(),
                jobs.lastAutovacuumSeconds(), jobs.xidAge(), jobs.mxidAge(),
                new AutovacuumOptions(null, null, 0.005, null));
        assertThat(VacuumLagCheck.message(db, low, AutovacuumTrigger.of(low, on), new Autovacuum(on, List.of())))
                .contains("0 of 3 autovacuum workers are busy now (if autovacuum keeps starting on it, lock conflicts"
                        + " may cancel it", "SET (autovacuum_vacuum_cost_limit = 2000)")
                .doesNotContain("autovacuum_vacuum_scale_factor = 0.01");
        assertThat(new Autovacuum(on, busy).workersByDatabase()).containsOnly(Map.entry("a", 1),
                Map.entry("b", 2));
    }

    @Test
    void aVacuumRunningOnTheTableHoldsItsVerdictUntilTheNextVisit() {
        // A visit while a slowed-down VACUUM of queue runs; a poll after it was cancelled, before the next
        // visit; the next visit.
        List<Poll> polls = Recordings.polls(RUNNING, 18);
        Table queue = table(state(polls.get(0), "vacrun"), "queue");
        assertThat(polls.get(0).get(Autovacuum.class).running()).containsExactly(
                new Running(polls.get(0).get(Autovacuum.class).running().get(0).pid(), "vacrun", queue.relid(), "VACUUM",
                        "scanning heap", false));
        assertThat(polls.get(1).get(Autovacuum.class).running()).as("cancelled").isEmpty();
        assertThat(state(polls.get(1), "vacrun").at()).as("no visit since").isEqualTo(state(polls.get(0), "vacrun").at());
        List<List<Evaluation>> verdicts = judge(check("vacuum_lag"), polls);
        assertThat(verdicts.get(0)).containsExactly(Evaluation.held("vacrun.public.queue"));
        assertThat(verdicts.get(1)).as("the VACUUM has ended, but the visit read the rows before it did")
                .containsExactly(Evaluation.held("vacrun.public.queue"));
        assertThat(on("vacrun.public.queue", verdicts.get(2)).severity()).as("the next visit: still 20,000 dead rows")
                .isEqualTo(Severity.WARNING);
        // Without having seen the VACUUM run, the same stale rows would have been judged at once.
        assertThat(on("vacrun.public.queue", judge(check("vacuum_lag"), polls.subList(1, 2)).get(0)).severity())
                .isEqualTo(Severity.WARNING);
    }

    @Test
    void transactionIdsNearWraparoundAreAWarningNamingTheOldestTablesAndClearAfterVacuumFreeze() {
        List<Poll> polls = Recordings.polls(XID, 15);
        List<List<Evaluation>> verdicts = judge(check("xid_wraparound"), polls);
        DatabaseAges ages = polls.get(0).get(DatabaseAges.class);
        long age = age(ages, "wrap").xidAge();
        DatabaseState wrap = state(polls.get(0), "wrap");
        long oldOrders = wrap.current().oldest().stream().filter(f -> f.name().equals("old_orders")).findFirst()
                .orElseThrow().xidAge();
        Frozen catalog = wrap.current().oldest().stream().filter(f -> f.kind() == Frozen.Kind.CATALOG).findFirst()
                .orElseThrow();
        assertThat(catalog.xidAge()).as("the catalogs were frozen by initdb, before old_orders was made")
                .isGreaterThan(oldOrders);
        assertThat(on("wrap", verdicts.get(0))).isEqualTo(Evaluation.measured("wrap", age / 2147483648.0,
                Severity.WARNING, 0.5, String.format(Locale.ROOT, "database wrap: transaction ID age %,d (55.9%% of"
                        + " 2^31; below autovacuum_freeze_max_age 2,000,000,000); MultiXact ID age 0 (0.0%% of 2^31;"
                        + " below autovacuum_multixact_freeze_max_age 2,000,000,000). Oldest by transaction ID age at"
                        + " the visit of %s: system table information_schema.%s %,d, public.old_orders %,d. Run VACUUM"
                        + " (VERBOSE) information_schema.%s first, then the next ones, or every table of the database"
                        + " past half its age: vacuumdb --dbname=wrap --min-xid-age=%d; system tables need a superuser"
                        + " or the database owner. If VACUUM does not bring the age down, something holds the xmin"
                        + " horizon back (a long-running or prepared transaction, a replication slot, a standby's"
                        + " feedback: see xmin_horizon)", age, wrap.at().truncatedTo(ChronoUnit.SECONDS), catalog.name(),
                        catalog.xidAge(), oldOrders, catalog.name(), age / 2)));
        assertThat(on("template0", verdicts.get(0)).message()).contains("It does not allow connections (datallowconn is"
                + " false), so pgvigil cannot list its tables. Autovacuum freezes it once it passes the freeze max age;"
                + " if its age keeps growing, allow connections for a moment (ALTER DATABASE template0"
                + " ALLOW_CONNECTIONS true), run vacuumdb --dbname=template0 --min-xid-age=");
        Evaluation frozen = on("wrap", verdicts.get(1));
        assertThat(frozen.severity()).isNull();
        assertThat(frozen.value()).isLessThan(0.001);

        assertThat(on("wrap", judge(check("xid_wraparound", "pgvigil.checks.xid-wraparound.critical", "0.55"), polls)
                .get(0)).severity()).isEqualTo(Severity.CRITICAL);
    }

    @Test
    void multixactIdsNearWraparoundAreJudgedOnTheMultixactAge() {
        List<Poll> polls = Recordings.polls(MXID, 15);
        Evaluation wrap = on("wrap", judge(check("xid_wraparound"), polls).get(0));
        DatabaseAge age = age(polls.get(0).get(DatabaseAges.class), "wrap");
        assertThat(age.mxidAge()).isEqualTo(1_699_999_999L).isGreaterThan(age.xidAge());
        assertThat(wrap.value()).isEqualTo(1_699_999_999L / 2147483648.0);
        assertThat(wrap.severity()).isEqualTo(Severity.CRITICAL);
        assertThat(wrap.threshold()).isEqualTo(0.75);
        assertThat(wrap.message()).startsWith("database wrap: MultiXact ID age 1,699,999,999 (79.2% of 2^31; below"
                + " autovacuum_multixact_freeze_max_age 2,000,000,000); transaction ID age ")
                .contains("Oldest by MultiXact ID age at the visit of ", ": public.old_orders 1,699,999,999. Run VACUUM"
                        + " (VERBOSE) public.old_orders or every table of the database past half its age: vacuumdb"
                        + " --dbname=wrap --min-mxid-age=849999999");
    }

    @Test
    void pastTheFreezeMaxAgeTheMessageSaysByHowMuch() {
        List<Poll> polls = Recordings.polls(XID, 15);
        DatabaseAges recorded = polls.get(0).get(DatabaseAges.class);
        // The same ages against the default settings (the test server had them at their maximum).
        DatabaseAges defaults = new DatabaseAges(recorded.databases(), 200_000_000, 400_000_000);
        String message = XidWraparoundCheck.message(age(recorded, "wrap"), defaults,
                polls.get(0).get(Relations.class), polls.get(0).get(Autovacuum.class), false);
        assertThat(message).startsWith(String.format(Locale.ROOT, "database wrap: transaction ID age %,d (55.9%% of 2^31;"
                + " %,d past autovacuum_freeze_max_age 200,000,000, from where autovacuum vacuums to prevent"
                + " wraparound); MultiXact ID age 0 (0.0%% of 2^31; below autovacuum_multixact_freeze_max_age"
                + " 400,000,000). ", age(recorded, "wrap").xidAge(), age(recorded, "wrap").xidAge() - 200_000_000));
    }

    @Test
    void anInvalidDatabaseIsToBeDroppedAndATemplateIsNotVisited() {
        DatabaseAges ages = new DatabaseAges(List.of(), 200_000_000, 400_000_000);
        String invalid = XidWraparoundCheck.message(new DatabaseAge("half_dropped", false, 1_100_000_000L, 0, false,
                true), ages, Relations.NONE, null, false);
        assertThat(invalid).contains("It is an invalid database (datconnlimit = -2, left by an interrupted DROP"
                + " DATABASE)", "Finish dropping it: DROP DATABASE half_dropped").doesNotContain("vacuumdb");
        String template = XidWraparoundCheck.message(new DatabaseAge("template1", true, 1_100_000_000L, 0, true, false),
                ages, Relations.NONE, null, false);
        assertThat(template).contains("Its oldest tables are not known: pgvigil does not visit template databases")
                .doesNotContain("not visited yet");
    }

    @Test
    void aHorizonHeldAsFarBackAsTheAgeIsNamedAsWhatKeepsVacuumFromFreezing() {
        DatabaseAge shop = new DatabaseAge("shop", true, 1_200_000_000L, 0);
        Holder prepared = new Holder(Kind.PREPARED_TRANSACTION, 1_150_000_000L, 1, "transaction", null, null,
                "transfer-42", "app", null, null, "shop", null, null, null, null, null);
        assertThat(XidWraparoundCheck.horizon(shop, Optional.of(new Horizon(200_000_000, List.of(prepared)))))
                .isEqualTo(". The xmin horizon is 1,150,000,000 transactions behind, held by prepared transaction"
                        + " 'transfer-42': no VACUUM can bring the age below that until it lets go (see xmin_horizon)");
        // A horizon far younger than the database's age is not what holds it: the general hint.
        Holder young = new Holder(Kind.PREPARED_TRANSACTION, 5_000, 1, "transaction", null, null, "t", "app", null,
                null, "shop", null, null, null, null, null);
        assertThat(XidWraparoundCheck.horizon(shop, Optional.of(new Horizon(200_000_000, List.of(young)))))
                .startsWith(". If VACUUM does not bring the age down, something holds the xmin horizon back")
                .isEqualTo(XidWraparoundCheck.horizon(shop, Optional.empty()));
    }

    @Test
    void anotherSessionsTemporaryTableHoldingTheDatabaseBackIsNamedButNotGivenToVacuum() {
        Poll poll = Recordings.polls(TEMPORARY, 18).get(0);
        Frozen scratch = state(poll, "tempheld").current().oldest().stream()
                .filter(f -> f.kind() == Frozen.Kind.TEMPORARY).findFirst().orElseThrow();
        assertThat(scratch.name()).isEqualTo("scratch");
        String message = on("tempheld", judge(check("xid_wraparound"), List.of(poll)).get(0)).message();
        assertThat(message).contains(String.format(Locale.ROOT, ": another session's temporary table %s.scratch %,d."
                + " Only the session that created %s.scratch can vacuum it (VACUUM skips other sessions' temporary"
                + " tables): ending that session drops it and lets the database's age go down at the next VACUUM.",
                scratch.schema(), scratch.xidAge(), scratch.schema())).doesNotContain("public.kept");
    }

    private static DatabaseState state(Poll poll, String datname) {
        return poll.get(Relations.class).databases().get(datname);
    }

    private static Table table(DatabaseState db, String name) {
        return db.current().tables().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    private static DatabaseAge age(DatabaseAges ages, String datname) {
        return ages.databases().stream().filter(d -> d.datname().equals(datname)).findFirst().orElseThrow();
    }
}
