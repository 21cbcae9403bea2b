package io.pgvigil.core;

/**
 * A check's verdict on one subject in one poll.
 *
 * @param subject   what it is about (a database, "server", ...)
 * @param value     the measured value, null when the subject was not measured this interval
 * @param severity  the breach, or null when the value is within thresholds
 * @param threshold the threshold the value crossed (the warning threshold when none was crossed)
 * @param message   a plain sentence for people, naming what to look at
 * @param hold      true when there is no trustworthy measurement this interval (a counter reset):
 *                  an open finding stays as it is, a closed one stays closed
 * @param advice    the SQL the message proposes, as data; null when it proposes none
 */
public record Evaluation(String subject, Double value, Severity severity, double threshold, String message,
        boolean hold, Advice advice) {

    public Evaluation(String subject, Double value, Severity severity, double threshold, String message, boolean hold) {
        this(subject, value, severity, threshold, message, hold, null);
    }

    /** The same verdict, proposing {@code advice}. */
    public Evaluation withAdvice(Advice advice) {
        return new Evaluation(subject, value, severity, threshold, message, hold, advice);
    }

    public static Evaluation measured(String subject, double value, Severity severity, double threshold,
            String message) {
        return new Evaluation(subject, value, severity, threshold, message, false);
    }

    /** A measurement where higher is worse: breaching at {@code warning}, critical at {@code critical}. */
    public static Evaluation above(String subject, double value, double warning, double critical, String message) {
        Severity severity = Severity.above(value, warning, critical);
        return measured(subject, value, severity, severity == Severity.CRITICAL ? critical : warning, message);
    }

    public static Evaluation held(String subject) {
        return new Evaluation(subject, null, null, 0, null, true);
    }
}
