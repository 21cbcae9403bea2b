package io.pgvigil.http;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.ext.web.RoutingContext;

/**
 * Serves the classic Prometheus text format (0.0.4) to every client that does not ask for OpenMetrics
 * by name. Quarkus answers {@code Accept: *}{@code /*} (curl, wget, a browser) with OpenMetrics,
 * whose HELP escaping {@code promtool check metrics} does not parse. A client that names
 * {@code application/openmetrics-text} (Prometheus does) gets OpenMetrics.
 */
@ApplicationScoped
public class MetricsFormat {

    static final String CLASSIC = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final String metricsPath;

    @Inject
    public MetricsFormat(
            @org.eclipse.microprofile.config.inject.ConfigProperty(name = "quarkus.micrometer.export.prometheus.path",
                    defaultValue = "/q/metrics") String metricsPath) {
        this.metricsPath = metricsPath;
    }

    void install(@Observes Filters filters) {
        // Before the token filter (1000): the order does not matter for correctness, only one header changes.
        filters.register(this::negotiate, 2000);
    }

    private void negotiate(RoutingContext ctx) {
        if (ctx.normalizedPath().equals(metricsPath)) {
            String accept = ctx.request().getHeader("Accept");
            // Quarkus' endpoint matches the type string exactly: a plain "application/openmetrics-text"
            // would get 406, and Prometheus' own list would get the classic format.
            ctx.request().headers().set("Accept",
                    accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : CLASSIC);
        }
        ctx.next();
    }
}
