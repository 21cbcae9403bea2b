package io.pgvigil.http;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * A 404 {@link Problem} for a path under {@code /api} that no resource serves ({@code /api/v2/...}):
 * the REST layer hands such a request on to the HTTP router, whose own 404 has no body. Runs after
 * every other route, so it answers only what nothing else did.
 */
@ApplicationScoped
public class ApiNotFound {

    @Inject
    ObjectMapper json;

    void install(@Observes Router router) {
        router.route("/api/*").order(Integer.MAX_VALUE).handler(this::answer);
        router.route("/api").order(Integer.MAX_VALUE).handler(this::answer);
    }

    private void answer(RoutingContext ctx) {
        Problem.of(404, ProblemMappers.notFound(ctx.normalizedPath())).send(ctx, json);
    }
}
