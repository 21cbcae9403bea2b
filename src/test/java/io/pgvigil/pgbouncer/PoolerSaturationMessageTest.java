package io.pgvigil.pgbouncer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.activity.StatActivityCollector.Activity;
import io.pgvigil.activity.StatActivityCollector.Backend;
import io.pgvigil.core.Snapshot;
import io.pgvigil.pgbouncer.Poolers.Database;
import io.pgvigil.pgbouncer.Poolers.Pool;
import io.pgvigil.pgbouncer.Poolers.Reading;
import io.pgvigil.target.ServerInfo;
import io.pgvigil.testing.TestConfig;

/**
 * The advice of {@code pooler_saturation} for each reason PgBouncer queues clients, server-free: rows
 * shaped as Debian's PgBouncer 1.18 returns them for {@code SHOW POOLS} / {@code SHOW DATABASES}. Raising
 * {@code pool_size} is advised only when the pool is full.
 */
class PoolerSaturationMessageTest {

    private static final double WARNING = 1.0;

    private static Pool pool(long waiting, double maxWait, long active, long idle, long login) {
        return new Pool("app", "web", 40L, waiting, active, idle, 0L, 0L, login, maxWait, "transaction");
    }

    private static Reading reading(Pool pool, Long poolSize, Long maxDb, Long current, boolean paused) {
        Database db = new Database("app", "10.0.0.5", "appdb", poolSize, 0L, maxDb, current, "transaction",
                paused, false);
        return new Reading("edge", "localhost:6432", true, null, "1.18.0/bouncer", List.of(pool), List.of(db),
                List.of(), 0.01);
    }

    private static String message(Reading reading) {
        return PoolerSaturationCheck.message(reading, reading.pools().get(0), "", WARNING, 3);
    }

    @Test
    void aFullPoolIsTheOnlyCaseThatAdvisesRaisingPoolSize() {
        String full = message(reading(pool(7, 2.5, 20, 0, 0), 20L, 0L, 20L, false));
        assertThat(full).contains("7 client(s) waiting, the oldest for 2.5 s", "20 server connection(s) in use and 0 idle",
                "pool_size 20", "max_db_connections unlimited", "Every server connection of the pool is busy: raise pool_size");
    }

    @Test
    void aPoolThatCannotOpenItsConnectionsBlamesPostgresNotPoolSize() {
        // PostgreSQL at max_connections (or down) between server_login_retry attempts: sv_login is 0.
        String refused = message(reading(pool(7, 2.5, 5, 0, 0), 20L, 0L, 5L, false));
        assertThat(refused).contains("Only 5 of 20 server connection(s) are open: PgBouncer cannot get more",
                "raising pool_size would not help", "max_connections reached? see pool_saturation", "PgBouncer's log",
                "max_user_connections").doesNotContain("raise pool_size");
    }

    @Test
    void serverConnectionsStillLoggingInAreNamed() {
        String login = message(reading(pool(3, 1.5, 2, 0, 3), 20L, 0L, 5L, false));
        assertThat(login).contains("Only 2 of 20 server connection(s) are open and 3 still logging in",
                "PgBouncer cannot get more").doesNotContain("raise pool_size");
    }

    @Test
    void aPausedDatabaseSaysResume() {
        String paused = message(reading(pool(4, 3.0, 0, 5, 0), 20L, 0L, 5L, true));
        assertThat(paused).contains("The database app is paused in PgBouncer (PAUSE)", "RESUME app")
                .doesNotContain("raise pool_size").doesNotContain("Only 5 of 20");
    }

    @Test
    void maxDbConnectionsReachedSaysSo() {
        String capped = message(reading(pool(4, 3.0, 10, 0, 0), 20L, 10L, 10L, false));
        assertThat(capped).contains("max_db_connections 10", "The database's max_db_connections is reached (10 server"
                + " connections across its pools)").doesNotContain("raise pool_size");
    }

    @Test
    void aFindingHeldOpenAfterTheQueueDrainedGivesNoStaleAdvice() {
        String drained = message(reading(pool(0, 0.0, 3, 17, 0), 20L, 0L, 20L, false));
        assertThat(drained).contains("0 client(s) waiting",
                "No client waits 1.0 s or longer now: the finding clears after 3 consecutive poll(s)")
                .doesNotContain("raise pool_size").doesNotContain("Only");
    }

    @Test
    void pointersToHoldersOnlyNameThePoolsOwnDatabase() {
        PoolerSaturationCheck check = new PoolerSaturationCheck(TestConfig.of(Map.of(
                "pgvigil.target.url", "jdbc:postgresql://localhost/postgres", "pgvigil.pgbouncer.url",
                "postgresql://localhost:6432", "pgvigil.checks.long-transaction.warning", "60s",
                "pgvigil.checks.lock-wait.warning", "10s")));
        ServerInfo server = new ServerInfo(180000, "18.0", false, 1000.0, Map.of(), 42, 8192, "", 10);
        Activity activity = new Activity(List.of(
                backend(100, "reporting", 900.0, true, 300.0),
                backend(101, "appdb", 120.0, false, null),
                backend(42, "appdb", 5000.0, false, null)), 42);
        Snapshot snapshot = new Snapshot(Instant.EPOCH, server, Map.of(Activity.class, activity));

        String app = check.holders(snapshot, "appdb");
        assertThat(app).contains("transaction open in database appdb for 120 s (pid 101").doesNotContain("reporting")
                .doesNotContain("lock_wait").doesNotContain("pid 42");
        String reporting = check.holders(snapshot, "reporting");
        assertThat(reporting).contains("database reporting for 900 s (pid 100",
                "sessions wait on locks in database reporting (the longest 300 s)");
        assertThat(check.holders(Snapshot.down(Instant.EPOCH), "appdb")).contains("PostgreSQL cannot be reached");
    }

    private static Backend backend(int pid, String db, double xactAge, boolean waiting, Double lockWait) {
        return new Backend(pid, db, "web", "app", "active", waiting, xactAge, 1.0, null, "client backend", null, null,
                null, null, null, null, lockWait);
    }
}
