package io.pgvigil.http;

import java.time.Instant;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.ext.web.RoutingContext;

/**
 * Every error of the REST API, as {@code application/problem+json} (RFC 9457). {@code type},
 * {@code title}, {@code status} and {@code detail} are always there; the other members only on the
 * problems that have them (docs/api.md, "Errors").
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@Schema(name = "Problem", description = "An error (RFC 9457, application/problem+json). Members other than type, "
        + "title, "
        + "status and detail appear only on the problems that have them.")
public record Problem(
        @Schema(description = "What kind of problem: " + BAD_PARAMETER + " (400), " + NO_DATA
                + " (503), about:blank for the others", required = true, examples = NO_DATA) String type,
        @Schema(description = "Short summary of the problem type, the same for every problem of a type (the "
                + "HTTP reason phrase for about:blank)", required = true, examples = "No data") String title,
        @Schema(description = "The HTTP status code", required = true, examples = "503") int status,
        @Schema(description = "What went wrong in this case, in a sentence", required = true,
                examples = "pgvigil has not finished its first poll of the target yet") String detail,
        @Schema(description = "400: the query parameter that is wrong", examples = "limit") String parameter,
        @Schema(description = "400: the value it was given", examples = "-1") String value,
        @Schema(description = "503: why there is no data", enumeration = { NO_POLL_YET, TARGET_DOWN, NO_INTERVAL_YET,
                COLLECTOR_OFF, COLLECTOR_FAILED }) String reason,
        @Schema(description = "503 collector-off, collector-failed: the collector (pg_stat_statements, or "
                + "database-visits for indexes and tables)", examples = "pg_stat_statements") String collector,
        @Schema(description = "503 target-down, collector-failed: the error, as the driver or PostgreSQL gave it")
        String error,
        @Schema(description = "503 target-down: when a poll last reached the target (ISO-8601, UTC); null when "
                + "none has since pgvigil started") Instant lastSuccessAt) {

    public static final String MEDIA_TYPE = "application/problem+json";

    public static final String BAD_PARAMETER = "urn:pgvigil:problem:bad-parameter";
    public static final String NO_DATA = "urn:pgvigil:problem:no-data";
    public static final String BLANK = "about:blank";

    public static final String NO_POLL_YET = "no-poll-yet";
    public static final String TARGET_DOWN = "target-down";
    public static final String NO_INTERVAL_YET = "no-interval-yet";
    public static final String COLLECTOR_OFF = "collector-off";
    public static final String COLLECTOR_FAILED = "collector-failed";

    /** A problem with no members beyond the four standard ones. */
    public static Problem of(int status, String detail) {
        return new Problem(BLANK, title(status), status, detail, null, null, null, null, null, null);
    }

    /** 400: {@code detail} names the parameter and the value, as the other members do. */
    public static Problem badParameter(String parameter, String value, String detail) {
        return new Problem(BAD_PARAMETER, "Bad parameter", 400, detail, parameter, value, null, null, null, null);
    }

    /** 503: the data asked for does not exist (yet, or at the moment). */
    public static Problem noData(String reason, String detail, String collector, String error, Instant lastSuccessAt) {
        return new Problem(NO_DATA, "No data", 503, detail, null, null, reason, collector, error, lastSuccessAt);
    }

    /** The reason phrase of the statuses the API answers with. */
    static String title(int status) {
        Response.Status known = Response.Status.fromStatusCode(status);
        return known == null ? "HTTP " + status : known.getReasonPhrase();
    }

    /** This problem as the response to send. */
    public Response response() {
        return Response.status(status).type(MEDIA_TYPE).entity(this).build();
    }

    /** Ends a request with this problem, outside JAX-RS (the token filter, {@link ApiNotFound}). */
    void send(RoutingContext ctx, ObjectMapper json) {
        String body;
        try {
            body = json.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e); // strings, numbers and an Instant always serialize
        }
        ctx.response().setStatusCode(status).putHeader("Content-Type", MEDIA_TYPE).end(body);
    }

    /** Thrown by a resource to answer with this problem. */
    public WebApplicationException exception() {
        return new WebApplicationException(detail, response());
    }
}
