package io.pgvigil.target;

/**
 * A PostgreSQL server that pgvigil starts itself. Only the dev-mode demo provides one
 * ({@code io.pgvigil.demo}); in production no bean implements it and a target must be configured.
 */
public interface EmbeddedTarget {

    /** JDBC URL of the embedded server's monitored database. */
    String jdbcUrl();

    /** Role pgvigil logs in as. */
    String username();

    /** That role's password. */
    String password();
}
