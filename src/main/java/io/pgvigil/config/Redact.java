package io.pgvigil.config;

/** Keeps secrets out of what pgvigil logs and serves. */
public final class Redact {

    private Redact() {
    }

    /** A JDBC URL without its query string, which may carry a password. */
    public static String url(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }
}
