package io.pgvigil.statements;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SqlTextTest {

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", quoteCharacter = '"', value = {
            "ALTER ROLE app PASSWORD 'hunter2' => ALTER ROLE app PASSWORD '…'",
            "SELECT 'it''s' || 'x' FROM t => SELECT '…' || '…' FROM t",
            "SELECT E'a\\'b' , 1 => SELECT E'…' , 1",
            "SELECT $$ secret $$, $tag$ more 'x' $tag$ => SELECT '…', '…'",
            "SELECT a$b FROM t WHERE id = $1 => SELECT a$b FROM t WHERE id = $1",
            "\"SELECT *\n   FROM   t\" => SELECT * FROM t",
            "SELECT 'never closed => SELECT '…'",
    })
    void stringLiteralsAreMaskedAndWhitespaceFolded(String sql, String expected) {
        assertThat(SqlText.redact(sql, 200)).isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void longTextIsCutWithAnEllipsis() {
        assertThat(SqlText.redact("SELECT " + "x, ".repeat(100) + "1", 20)).isEqualTo("SELECT x, x, x, x, x…").hasSize(21);
        assertThat(SqlText.redact(null, 20)).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", value = {
            "SELECT 1 => true", "  with x as (select 1) select * from x => true", "/* app */ UPDATE t SET a = $1 => true",
            "(SELECT 1) UNION (SELECT 2) => true", "CREATE INDEX ON t (a) => false", "VACUUM t => false",
            "BEGIN => false", "SET work_mem = $1 => false", "SELECTED => false"})
    void dataStatementsAreToldFromUtilityStatements(String sql, boolean data) {
        assertThat(SqlText.isDataStatement(sql)).isEqualTo(data);
    }
}
