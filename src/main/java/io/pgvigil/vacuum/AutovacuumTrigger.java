package io.pgvigil.vacuum;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.pgvigil.relations.RelationsCollector.AutovacuumOptions;
import io.pgvigil.relations.RelationsCollector.Table;
import io.pgvigil.vacuum.ProgressVacuumCollector.Settings;

/**
 * How many dead rows make autovacuum vacuum a table, as autovacuum itself computes it:
 * {@code autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × reltuples}, capped on 18+ by
 * {@code autovacuum_vacuum_max_threshold} (-1: no cap), each taken from the table's own storage
 * parameters where it sets them, else from the server. A table never vacuumed nor analyzed has
 * {@code reltuples} -1 on 14+ (0 on 13), which counts as 0. Autovacuum vacuums it once it has
 * <em>more</em> dead rows than this.
 *
 * @param threshold      the base threshold used
 * @param scaleFactor    the scale factor used
 * @param rows           reltuples, never below 0
 * @param maxThreshold   the cap used, null when there is none (before 18, or -1)
 * @param ownThreshold   the base threshold is the table's own
 * @param ownScaleFactor the scale factor is the table's own
 * @param ownMaxThreshold the cap is the table's own
 */
public record AutovacuumTrigger(long threshold, double scaleFactor, double rows, Long maxThreshold,
        boolean ownThreshold, boolean ownScaleFactor, boolean ownMaxThreshold) {

    public static AutovacuumTrigger of(Table table, Settings server) {
        AutovacuumOptions own = table.autovacuum();
        Long cap = own.vacuumMaxThreshold() != null ? own.vacuumMaxThreshold() : server.vacuumMaxThreshold();
        return new AutovacuumTrigger(
                own.vacuumThreshold() != null ? own.vacuumThreshold() : server.vacuumThreshold(),
                own.vacuumScaleFactor() != null ? own.vacuumScaleFactor() : server.vacuumScaleFactor(),
                Math.max(table.reltuples(), 0), cap == null || cap < 0 ? null : cap,
                own.vacuumThreshold() != null, own.vacuumScaleFactor() != null, own.vacuumMaxThreshold() != null);
    }

    /** The number of dead rows above which autovacuum vacuums the table. */
    public double value() {
        double uncapped = threshold + scaleFactor * rows;
        return capped() ? maxThreshold : uncapped;
    }

    /** Whether {@code autovacuum_vacuum_max_threshold} lowers it. */
    public boolean capped() {
        return maxThreshold != null && threshold + scaleFactor * rows > maxThreshold;
    }

    /** Dead rows as a multiple of the trigger (a trigger of 0 counts as 1 row). */
    public double multiple(long deadRows) {
        return deadRows / Math.max(value(), 1);
    }

    /** Whether autovacuum would vacuum the table now (when it is allowed to). */
    public boolean exceededBy(long deadRows) {
        return deadRows > value();
    }

    /**
     * How it is made up, for a message: "autovacuum_vacuum_threshold 50 + autovacuum_vacuum_scale_factor
     * 0.2 × 20000 rows", naming the table's own settings as such, and the cap when it applies.
     */
    public String explain() {
        String sum = String.format(Locale.ROOT, "%s %d + %s %s × %.0f rows",
                name("autovacuum_vacuum_threshold", ownThreshold), threshold,
                name("autovacuum_vacuum_scale_factor", ownScaleFactor), number(scaleFactor), rows);
        if (!capped()) {
            return sum;
        }
        return String.format(Locale.ROOT, "%s, capped by %s %d", sum,
                name("autovacuum_vacuum_max_threshold", ownMaxThreshold), maxThreshold);
    }

    /** Which of the trigger's settings the table sets itself. */
    public List<String> ownSettings() {
        List<String> own = new ArrayList<>();
        if (ownThreshold) {
            own.add("autovacuum_vacuum_threshold");
        }
        if (ownScaleFactor) {
            own.add("autovacuum_vacuum_scale_factor");
        }
        if (ownMaxThreshold) {
            own.add("autovacuum_vacuum_max_threshold");
        }
        return own;
    }

    private static String name(String setting, boolean own) {
        return own ? "the table's " + setting : setting;
    }

    static String number(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
