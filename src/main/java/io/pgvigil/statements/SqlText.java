package io.pgvigil.statements;

/**
 * Query text as pgvigil shows it to people: string literals masked (a query in pg_stat_activity
 * carries real values, e.g. {@code ALTER ROLE app PASSWORD 'secret'}), whitespace folded, cut to a
 * length. Handles '' escapes, E'' strings with backslash escapes and $tag$ dollar quoting.
 */
public final class SqlText {

    static final String MASK = "'…'";

    /** Statements that read or write data, as opposed to utility statements (DDL, SET, VACUUM, BEGIN...). */
    private static final java.util.regex.Pattern DATA_STATEMENT = java.util.regex.Pattern.compile(
            "^\\s*(?:/\\*.*?\\*/\\s*)*\\(*\\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|VALUES|TABLE)\\b",
            java.util.regex.Pattern.CASE_INSENSITIVE | java.util.regex.Pattern.DOTALL);

    private SqlText() {
    }

    /**
     * Whether the text is a data statement (SELECT, WITH, INSERT, UPDATE, DELETE, MERGE, VALUES,
     * TABLE), leading comments allowed. An unknown text (null) counts as one.
     */
    public static boolean isDataStatement(String sql) {
        return sql == null || DATA_STATEMENT.matcher(sql).find();
    }

    /** The redacted text, at most {@code maxLength} characters (plus an ellipsis when cut); null stays null. */
    public static String redact(String sql, int maxLength) {
        if (sql == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(Math.min(sql.length(), maxLength + 8));
        int i = 0;
        int n = sql.length();
        while (i < n && out.length() < maxLength) {
            char c = sql.charAt(i);
            if (c == '\'') {
                boolean escapes = i > 0 && (sql.charAt(i - 1) == 'E' || sql.charAt(i - 1) == 'e')
                        && (i < 2 || !Character.isLetterOrDigit(sql.charAt(i - 2)));
                i = skipQuoted(sql, i + 1, escapes);
                out.append(MASK);
            } else if (c == '$' && dollarTagEnd(sql, i) > 0) {
                int tagEnd = dollarTagEnd(sql, i);
                String tag = sql.substring(i, tagEnd + 1);
                int close = sql.indexOf(tag, tagEnd + 1);
                i = close < 0 ? n : close + tag.length();
                out.append(MASK);
            } else if (Character.isWhitespace(c)) {
                if (out.length() > 0 && out.charAt(out.length() - 1) != ' ') {
                    out.append(' ');
                }
                i++;
            } else {
                out.append(c);
                i++;
            }
        }
        String text = out.toString().strip();
        if (text.length() > maxLength) {
            text = text.substring(0, maxLength);
        }
        return i < n ? text + "…" : text;
    }

    /** Index just past the closing quote of a literal whose body starts at {@code i}. */
    private static int skipQuoted(String sql, int i, boolean backslashEscapes) {
        int n = sql.length();
        while (i < n) {
            char c = sql.charAt(i);
            if (backslashEscapes && c == '\\') {
                i += 2;
            } else if (c == '\'') {
                if (i + 1 < n && sql.charAt(i + 1) == '\'') {
                    i += 2;
                } else {
                    return i + 1;
                }
            } else {
                i++;
            }
        }
        return n;
    }

    /** If a dollar-quote tag ($$ or $tag$) starts at {@code i}, the index of its closing '$'; else -1. */
    private static int dollarTagEnd(String sql, int i) {
        if (i > 0 && (Character.isLetterOrDigit(sql.charAt(i - 1)) || sql.charAt(i - 1) == '_')) {
            return -1; // part of an identifier such as a$b
        }
        int j = i + 1;
        while (j < sql.length() && (Character.isLetter(sql.charAt(j)) || sql.charAt(j) == '_'
                || (j > i + 1 && Character.isDigit(sql.charAt(j))))) {
            j++;
        }
        return j < sql.length() && sql.charAt(j) == '$' ? j : -1;
    }
}
