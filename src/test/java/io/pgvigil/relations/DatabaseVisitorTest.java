package io.pgvigil.relations;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.pgvigil.target.TargetConnector;

/** Database patterns and the per-database JDBC URL of a visit. */
class DatabaseVisitorTest {

    @Test
    void patternsMatchWholeNamesWithStarAndQuestionMark() {
        assertThat(DatabaseVisitor.glob("app_*").matcher("app_orders").matches()).isTrue();
        assertThat(DatabaseVisitor.glob("app_*").matcher("myapp_orders").matches()).isFalse();
        assertThat(DatabaseVisitor.glob("db?").matcher("db1").matches()).isTrue();
        assertThat(DatabaseVisitor.glob("db?").matcher("db10").matches()).isFalse();
        assertThat(DatabaseVisitor.glob("a.b").matcher("axb").matches()).as("a dot is literal").isFalse();
        assertThat(DatabaseVisitor.glob("*").matcher("anything at all").matches()).isTrue();
    }

    @Test
    void theVisitUrlKeepsHostsAndParametersAndReplacesTheDatabase() {
        assertThat(TargetConnector.urlForDatabase("jdbc:postgresql://db:5432/postgres?sslmode=verify-full", "shop"))
                .isEqualTo("jdbc:postgresql://db:5432/shop?sslmode=verify-full");
        assertThat(TargetConnector.urlForDatabase("jdbc:postgresql://h1:5432,h2:5433/app", "other db"))
                .isEqualTo("jdbc:postgresql://h1:5432,h2:5433/other+db");
        assertThat(TargetConnector.urlForDatabase("jdbc:postgresql://localhost", "shop"))
                .isEqualTo("jdbc:postgresql://localhost/shop");
        assertThat(TargetConnector.urlForDatabase("jdbc:postgresql://localhost?ssl=true", "shop"))
                .isEqualTo("jdbc:postgresql://localhost/shop?ssl=true");
        assertThat(TargetConnector.urlForDatabase("jdbc:postgresql:postgres", "shop")).isEqualTo("jdbc:postgresql:shop");
        assertThat(org.postgresql.Driver.parseURL(TargetConnector.urlForDatabase(
                "jdbc:postgresql://localhost:5432/postgres", "naïve/ümlaut?"), new java.util.Properties())
                .getProperty("PGDBNAME")).isEqualTo("naïve/ümlaut?");
    }
}
