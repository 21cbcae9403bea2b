package io.pgvigil.relations;

/** How index and table findings name their subject: {@code database.schema.name}. */
public final class RelationSubjects {

    private RelationSubjects() {
    }

    public static String of(String datname, String schema, String name) {
        return datname + "." + schema + "." + name;
    }
}
