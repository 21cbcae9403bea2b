package io.pgvigil.core;

import java.time.Instant;

/**
 * An open breach, as served by {@code GET /api/v1/findings}.
 *
 * @param since when the finding opened (at any severity); unchanged while it stays open
 */
public record Finding(String check, Severity severity, String subject, double value, double threshold,
        String message, Instant since) {
}
