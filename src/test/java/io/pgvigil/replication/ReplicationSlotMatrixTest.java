package io.pgvigil.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.core.Finding;
import io.pgvigil.core.Severity;
import io.pgvigil.replication.ReplicationSlotsCollector.Slot;
import io.pgvigil.replication.ReplicationSlotsCollector.Slots;
import io.pgvigil.testing.PgServer;
import io.pgvigil.testing.TestMonitor;

/** Replication slots seen from a primary, on every supported major. */
class ReplicationSlotMatrixTest {

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void inactiveSlotRetainingWalOpensReplicationSlotAndDroppingItClears(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        // A reserving physical slot starts at the last checkpoint's redo pointer: checkpoint first, so
        // that it starts out holding (almost) nothing.
        pg.execute("CHECKPOINT", "SELECT pg_create_physical_replication_slot('forgotten_standby', true)");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.checks.replication-slot.warning", "1M",
                "pgvigil.checks.replication-slot.critical", "1G")) {
            m.poll();
            assertThat(m.finding("replication_slot", "forgotten_standby")).isEmpty();

            // About 8 MiB of WAL written after the slot reserved its position.
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE wal_filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 100000) g");
            }
            m.poll();
            Slot slot = m.last().snapshot().get(Slots.class).orElseThrow().slots().stream()
                    .filter(s -> s.slotName().equals("forgotten_standby")).findFirst().orElseThrow();
            assertThat(slot.active()).isFalse();
            assertThat(slot.slotType()).isEqualTo("physical");
            assertThat(slot.walStatus()).isEqualTo("reserved");
            assertThat(slot.retainedBytes()).isGreaterThan(1024L * 1024);

            Finding f = m.finding("replication_slot", "forgotten_standby").orElseThrow();
            assertThat(f.severity()).isEqualTo(Severity.WARNING);
            assertThat(f.value()).isEqualTo(slot.retainedBytes().doubleValue());
            assertThat(f.threshold()).isEqualTo(1024 * 1024.0);
            assertThat(f.message()).startsWith("inactive physical slot 'forgotten_standby' retains")
                    .contains("pg_drop_replication_slot('forgotten_standby')");
            assertThat(m.scrape()).contains(
                    "pg_replication_slot_active{slot_name=\"forgotten_standby\",slot_type=\"physical\"} 0.0\n",
                    "pg_replication_slot_retained_wal_bytes{slot_name=\"forgotten_standby\",slot_type=\"physical\"} "
                            + slot.retainedBytes().doubleValue() + "\n",
                    "pg_replication_slot_wal_status{slot_name=\"forgotten_standby\",slot_type=\"physical\",wal_status=\"reserved\"} 1.0\n",
                    "pgvigil_breach{check=\"replication_slot\",severity=\"warning\",subject=\"forgotten_standby\"} 1.0\n");

            pg.execute("SELECT pg_drop_replication_slot('forgotten_standby')");
            m.poll();
            assertThat(m.finding("replication_slot", "forgotten_standby")).isEmpty();
            assertThat(m.scrape()).doesNotContain("forgotten_standby");
        } finally {
            pg.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'forgotten_standby'",
                    "DROP TABLE IF EXISTS wal_filler");
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("io.pgvigil.testing.PgServer#majorsStream")
    void aSlotThatNeverReservedWalIsNotJudged(int major) throws Exception {
        PgServer pg = PgServer.shared(major);
        pg.execute("SELECT pg_create_physical_replication_slot('not_reserved', false)");
        try (TestMonitor m = TestMonitor.watching(pg, "pgvigil.checks.replication-slot.warning", "1")) {
            m.poll();
            Slot slot = m.last().snapshot().get(Slots.class).orElseThrow().slots().stream()
                    .filter(s -> s.slotName().equals("not_reserved")).findFirst().orElseThrow();
            assertThat(slot.retainedBytes()).isNull();
            assertThat(slot.walStatus()).isNull();
            assertThat(m.finding("replication_slot", "not_reserved")).isEmpty();
            assertThat(m.scrape()).contains("pg_replication_slot_active{slot_name=\"not_reserved\",slot_type=\"physical\"} 0.0\n")
                    .doesNotContain("pg_replication_slot_retained_wal_bytes{slot_name=\"not_reserved\"");
        } finally {
            pg.execute("SELECT pg_drop_replication_slot('not_reserved')");
        }
    }
}
