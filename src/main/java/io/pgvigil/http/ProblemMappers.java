package io.pgvigil.http;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Turns every error of the REST resources into an RFC 9457 {@link Problem}: the resources' own
 * problems (400, 503) pass through; JAX-RS' own errors (404 for a path under a resource, 405, 406,
 * ...) get a problem body; any other exception is a 500 whose body says nothing about it and whose
 * cause is logged here, once. (Paths under /api that match no resource at all: {@link ApiNotFound}.)
 */
public class ProblemMappers {

    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);

    /** Longest request path repeated in a 404's detail. */
    static final int MAX_PATH = 200;

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e, UriInfo uri, Request request) {
        Response original = e.getResponse();
        if (original.hasEntity()) {
            return original; // a Problem built by a resource (BadParameter, NoData)
        }
        int status = original.getStatus();
        String detail = switch (status) {
            case 404 -> notFound(uri.getPath());
            case 405 -> request.getMethod() + " is not allowed here: the API only answers GET";
            case 406 -> "this endpoint answers application/json (and errors as application/problem+json) only";
            default -> Problem.title(status);
        };
        Response.ResponseBuilder answer = Response.status(status).type(Problem.MEDIA_TYPE)
                .entity(Problem.of(status, detail));
        original.getHeaders().forEach((name, values) -> {
            if (!name.equalsIgnoreCase("Content-Type")) {
                values.forEach(v -> answer.header(name, v));
            }
        });
        if (status == 405 && !original.getHeaders().containsKey("Allow")) {
            // RFC 9110 wants Allow on a 405; JAX-RS runs HEAD through every GET method.
            answer.header("Allow", "GET, HEAD");
        }
        return answer.build();
    }

    /**
     * A bug: the body names nothing of it (an exception message can carry anything), the log has
     * it with its cause. Mapped exceptions are not logged by Quarkus, so this is the one line.
     */
    @ServerExceptionMapper
    public Response unexpected(Throwable e, UriInfo uri, Request request) {
        LOG.errorf(e, "%s %s failed with an unexpected error", request.getMethod(), uri.getPath());
        return Problem.of(500, "pgvigil could not answer this request because of an unexpected error; its log "
                + "has the details").response();
    }

    static String notFound(String path) {
        String shown = path.length() > MAX_PATH ? path.substring(0, MAX_PATH) + "…" : path;
        return "there is no endpoint at " + shown + " (the API is described at /q/openapi and in docs/api.md)";
    }
}
