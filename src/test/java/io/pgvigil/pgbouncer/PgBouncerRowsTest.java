package io.pgvigil.pgbouncer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Reading console rows by column name, server-free: rows shaped as Debian's PgBouncer 1.18 returns them.
 * A value pgvigil cannot read fails the reading with the command and the column named; a column pgvigil
 * does not use is not parsed at all.
 */
class PgBouncerRowsTest {

    private static Map<String, String> row(String... kv) {
        Map<String, String> row = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            row.put(kv[i], kv[i + 1]);
        }
        return row;
    }

    @Test
    void aPoolRowIsReadByColumnName() throws SQLException {
        List<Poolers.Pool> pools = PgBouncerPoller.parse(PgBouncerPoller.POOLS, List.of(row("database", "app", "user", "web",
                "cl_active", "4", "cl_waiting", "3", "sv_active", "2", "sv_idle", "0", "sv_used", "0", "sv_tested", "0",
                "sv_login", "0", "maxwait", "2", "maxwait_us", "500000", "pool_mode", "transaction")), PgBouncerPoller::pool);
        assertThat(pools.get(0).clientsWaiting()).isEqualTo(3L);
        assertThat(pools.get(0).maxWaitSeconds()).isEqualTo(2.5);
    }

    @Test
    void aValueThatIsNotANumberNamesTheCommandAndTheColumn() {
        assertThatThrownBy(() -> PgBouncerPoller.parse(PgBouncerPoller.POOLS, List.of(row("database", "app", "user", "web",
                "cl_active", "4", "cl_waiting", "n/a")), PgBouncerPoller::pool))
                .isInstanceOf(SQLException.class)
                .hasMessage("PgBouncer's SHOW POOLS returned a row pgvigil cannot read: column cl_waiting is 'n/a', not a number")
                .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22P02");
    }

    @Test
    void theUnusedPortColumnIsNotParsed() throws SQLException {
        // A database reached over a unix socket, or a future PgBouncer, may show a port that is no number.
        List<Poolers.Database> dbs = PgBouncerPoller.parse(PgBouncerPoller.DATABASES, List.of(row("name", "app", "host", "",
                "port", "/var/run/postgresql", "database", "appdb", "pool_size", "20", "max_connections", "0",
                "current_connections", "3", "paused", "0", "disabled", "0")), PgBouncerPoller::database);
        assertThat(dbs.get(0).poolSize()).isEqualTo(20L);
        assertThat(dbs.get(0).paused()).isFalse();
    }
}
