package io.pgvigil.relations;

/** How index and table findings name their subject: {@code database.schema.name}. */
public final class RelationSubjects {

    private RelationSubjects() {
    }

    public static String of(String datname, String schema, String name) {
        return datname + "." + schema + "." + name;
    }

    /** A relation name as SQL needs it, quoted where it must be: {@code public.orders}, {@code public."Order"}. */
    public static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }

    private static String quote(String identifier) {
        return identifier.matches("[a-z_][a-z0-9_$]*") ? identifier : '"' + identifier.replace("\"", "\"\"") + '"';
    }
}
