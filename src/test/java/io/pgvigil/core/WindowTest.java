package io.pgvigil.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.pgvigil.core.Snapshot;
import io.pgvigil.databases.StatDatabaseCollector.Database;
import io.pgvigil.databases.StatDatabaseCollector.DatabaseStats;
import io.pgvigil.target.ServerInfo;

/** The window's arithmetic on readings of the kinds PostgreSQL produces; the matrix tests cover real servers. */
class WindowTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final ServerInfo SERVER = new ServerInfo(170004, "17.4", false, 1000.0, Map.of(), 42, 8192, "pg_stat_statements", 10);

    @Test
    void deltasCoverTheIntervalBetweenSnapshots() {
        Window w = Window.between(snapshot(0, SERVER, db(100, 10, 5.0)), snapshot(15, SERVER, db(160, 40, 5.0)));
        assertThat(w.seconds()).isEqualTo(15.0);
        assertThat(w.databases().get("shop").xactCommit()).isEqualTo(60);
        assertThat(w.databases().get("shop").xactRollback()).isEqualTo(30);
        assertThat(w.held()).isEmpty();
    }

    @Test
    void counterGoingBackwardsIsHeldNotNegative() {
        Window w = Window.between(snapshot(0, SERVER, db(100, 10, 5.0)), snapshot(15, SERVER, db(90, 12, 5.0)));
        assertThat(w.databases()).isEmpty();
        assertThat(w.held()).containsExactly("shop");
    }

    @Test
    void statsResetIsHeldEvenWhenCountersGrewPastTheirOldValues() {
        Window w = Window.between(snapshot(0, SERVER, db(100, 10, 5.0)), snapshot(15, SERVER, db(150, 20, 9.0)));
        assertThat(w.databases()).isEmpty();
        assertThat(w.held()).containsExactly("shop");
    }

    @Test
    void firstStatisticsEntryOfANewDatabaseIsNotAReset() {
        // PostgreSQL 13/14 set stats_reset when a database's entry is created at its first activity.
        Window w = Window.between(snapshot(0, SERVER, db(0, 0, null)), snapshot(15, SERVER, db(30, 3, 9.0)));
        assertThat(w.databases().get("shop").xactCommit()).isEqualTo(30);
    }

    @Test
    void serverRestartHoldsEveryDatabase() {
        ServerInfo restarted = new ServerInfo(170004, "17.4", false, 2000.0, Map.of(), 43, 8192, "pg_stat_statements", 10);
        Window w = Window.between(snapshot(0, SERVER, db(100, 10, null)), snapshot(15, restarted, db(120, 10, null)));
        assertThat(w.databases()).isEmpty();
        assertThat(w.held()).containsExactly("shop");
    }

    @Test
    void noBaselineOrTargetDownGivesNoDeltas() {
        assertThat(Window.between(null, snapshot(0, SERVER, db(1, 1, null))).databases()).isEmpty();
        assertThat(Window.between(snapshot(0, SERVER, db(1, 1, null)), Snapshot.down(T0))).isEqualTo(Window.EMPTY);
    }

    private static Snapshot snapshot(int second, ServerInfo server, Database db) {
        return new Snapshot(T0.plusSeconds(second), server, Map.of(DatabaseStats.class, new DatabaseStats(List.of(db))));
    }

    private static Database db(long commits, long rollbacks, Double statsReset) {
        return new Database(16384, "shop", commits, rollbacks, 0, 0, 0, 0, 0, statsReset);
    }
}
