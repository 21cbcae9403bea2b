package io.pgvigil.core;

import java.time.Instant;

/**
 * An open breach, as served by {@code GET /api/v1/findings}.
 *
 * @param since  when the finding opened (at any severity); unchanged while it stays open
 * @param advice the SQL the message proposes, as data; null when it proposes none
 */
public record Finding(String check, Severity severity, String subject, double value, double threshold,
        String message, Instant since, Advice advice) {

    public Finding(String check, Severity severity, String subject, double value, double threshold, String message,
            Instant since) {
        this(check, severity, subject, value, threshold, message, since, null);
    }
}
