package io.pgvigil.core;

/**
 * What a check's findings are about. Kinds with an unbounded number of subjects (statements, indexes,
 * tables) get a {@code pgvigil_check_value} series only while a finding is open on them, so that no
 * statement or index gets a series of its own otherwise; the REST API lists them all.
 */
public enum SubjectKind {
    SERVER("`server`", true),
    SELF_OR_STANDBY("standby's application_name (on a primary), `self` (on a standby)", true),
    DATABASE("database", true),
    SLOT("slot name", true),
    STATEMENT("queryid", false),
    INDEX("`db.schema.index`", false),
    TABLE("`db.schema.table`", false),
    /** A PgBouncer pool: as many as PgBouncer's (database, user) pairs, which its configuration bounds. */
    POOL("`pgbouncer/database/user` (a PgBouncer pool)", true);

    private final String doc;
    private final boolean bounded;

    SubjectKind(String doc, boolean bounded) {
        this.doc = doc;
        this.bounded = bounded;
    }

    /** As docs/checks.md names it. */
    public String doc() {
        return doc;
    }

    /** Whether every judged subject may have a value series (few subjects) or only those with a finding. */
    public boolean bounded() {
        return bounded;
    }
}
