package io.pgvigil.vacuum;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.pgvigil.relations.RelationsCollector.AutovacuumOptions;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.vacuum.ProgressVacuumCollector.Settings;

/** The autovacuum trigger as autovacuum computes it, and the storage parameters it reads. */
class AutovacuumTriggerTest {

    private static final Settings SERVER_17 = new Settings(true, true, 3, 50, 0.2, null);
    private static final Settings SERVER_18 = new Settings(true, true, 3, 50, 0.2, 100_000_000L);

    @Test
    void storageParametersAreReadAsPostgresqlWritesThem() {
        assertThat(AutovacuumOptions.parse(null)).isSameAs(AutovacuumOptions.NONE);
        assertThat(AutovacuumOptions.parse(new String[] {"fillfactor=90"})).isSameAs(AutovacuumOptions.NONE);
        assertThat(AutovacuumOptions.parse(new String[] {"autovacuum_enabled=off", "fillfactor=90",
            "autovacuum_vacuum_threshold=100", "autovacuum_vacuum_scale_factor=0.01",
            "autovacuum_vacuum_max_threshold=-1", "autovacuum_vacuum_insert_threshold=5"}))
                .isEqualTo(new AutovacuumOptions(false, 100L, 0.01, -1L));
        // ALTER TABLE ... SET (autovacuum_enabled) without a value stores "true"; reloptions keep the words as typed.
        for (String yes : new String[] {"true", "t", "TRUE", "yes", "y", "on", "1"}) {
            assertThat(AutovacuumOptions.bool(yes)).as(yes).isTrue();
        }
        for (String no : new String[] {"false", "f", "no", "n", "off", "of", "0"}) {
            assertThat(AutovacuumOptions.bool(no)).as(no).isFalse();
        }
        assertThat(AutovacuumOptions.bool("o")).as("ambiguous").isNull();
        // Integers as PostgreSQL's parse_int reads them (and keeps them as typed): octal, hex, rounded reals.
        assertThat(AutovacuumOptions.parse(new String[] {"autovacuum_vacuum_threshold=1e3",
            "autovacuum_vacuum_max_threshold=0x100"})).isEqualTo(new AutovacuumOptions(null, 1000L, null, 256L));
        assertThat(AutovacuumOptions.integer("010")).isEqualTo(8L);
        assertThat(AutovacuumOptions.integer("100.6")).isEqualTo(101L);
        assertThat(AutovacuumOptions.integer("-1")).isEqualTo(-1L);
        // Text nothing reads is ignored, never a failed visit.
        assertThat(AutovacuumOptions.parse(new String[] {"autovacuum_vacuum_threshold=lots",
            "autovacuum_vacuum_scale_factor=x"})).isSameAs(AutovacuumOptions.NONE);
    }

    @Test
    void theTriggerIsThresholdPlusScaleFactorTimesRowsWithTheTablesOwnSettingsFirst() {
        AutovacuumTrigger server = AutovacuumTrigger.of(table(20_000, AutovacuumOptions.NONE), SERVER_17);
        assertThat(server.value()).isEqualTo(4_050);
        assertThat(server.explain()).isEqualTo("autovacuum_vacuum_threshold 50 + autovacuum_vacuum_scale_factor 0.2"
                + " × 20000 rows");
        assertThat(server.exceededBy(4_050)).as("autovacuum needs more than the trigger").isFalse();
        assertThat(server.exceededBy(4_051)).isTrue();
        assertThat(server.multiple(8_100)).isEqualTo(2.0);

        AutovacuumTrigger own = AutovacuumTrigger.of(table(20_000, new AutovacuumOptions(null, null, 0.01, null)),
                SERVER_17);
        assertThat(own.value()).isEqualTo(250);
        assertThat(own.explain()).isEqualTo("autovacuum_vacuum_threshold 50 + the table's autovacuum_vacuum_scale_factor"
                + " 0.01 × 20000 rows");
        assertThat(own.ownSettings()).containsExactly("autovacuum_vacuum_scale_factor");
    }

    @Test
    void aTableNeverVacuumedNorAnalyzedCountsAsNoRowsAndAZeroTriggerAsOne() {
        // reltuples is -1 on 14+ until the first VACUUM or ANALYZE.
        AutovacuumTrigger fresh = AutovacuumTrigger.of(table(-1, AutovacuumOptions.NONE), SERVER_17);
        assertThat(fresh.rows()).isZero();
        assertThat(fresh.value()).isEqualTo(50);
        AutovacuumTrigger zero = AutovacuumTrigger.of(table(1_000, new AutovacuumOptions(null, 0L, 0.0, null)), SERVER_17);
        assertThat(zero.value()).isZero();
        assertThat(zero.multiple(12_000)).isEqualTo(12_000);
    }

    @Test
    void onPostgresql18TheMaxThresholdCapsItUnlessTheTableLiftsTheCap() {
        AutovacuumTrigger big = AutovacuumTrigger.of(table(2_000_000_000, AutovacuumOptions.NONE), SERVER_18);
        assertThat(big.capped()).isTrue();
        assertThat(big.value()).isEqualTo(100_000_000);
        assertThat(big.explain()).isEqualTo("autovacuum_vacuum_threshold 50 + autovacuum_vacuum_scale_factor 0.2"
                + " × 2000000000 rows, capped by autovacuum_vacuum_max_threshold 100000000");
        assertThat(AutovacuumTrigger.of(table(2_000_000_000, AutovacuumOptions.NONE), SERVER_17).value())
                .as("before 18 there is no cap").isEqualTo(400_000_050);
        AutovacuumTrigger lifted = AutovacuumTrigger.of(table(2_000_000_000, new AutovacuumOptions(null, null, null,
                -1L)), SERVER_18);
        assertThat(lifted.capped()).isFalse();
        assertThat(lifted.value()).isEqualTo(400_000_050);
        AutovacuumTrigger lower = AutovacuumTrigger.of(table(2_000_000_000, new AutovacuumOptions(null, null, null,
                1_000_000L)), SERVER_18);
        assertThat(lower.value()).isEqualTo(1_000_000);
        assertThat(lower.explain()).endsWith("capped by the table's autovacuum_vacuum_max_threshold 1000000");
        assertThat(AutovacuumTrigger.of(table(1_000, AutovacuumOptions.NONE), SERVER_18).capped()).isFalse();
    }

    private static Table table(double reltuples, AutovacuumOptions options) {
        return new Table(1, "public", "t", 8192, 0, 0, 0, 0, null, 0, reltuples, 0, 0, null, null, 0, 0, options);
    }
}
