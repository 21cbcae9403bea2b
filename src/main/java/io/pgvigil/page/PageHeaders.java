package io.pgvigil.page;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.ext.web.RoutingContext;

/**
 * Security headers on the page ({@code /}) and its assets ({@code /page/*}): a Content-Security-Policy
 * that lets the page load scripts, styles, images and data from its own origin only (no inline script
 * or style, no CDN, no font from elsewhere, no frame, no form posting anywhere), no sniffing of types,
 * no referrer, and no framing by another site. Also on {@code /api/*}, where no document should ever
 * run. The Dev UI ({@code /q/dev-ui}) is left alone: it needs inline scripts.
 */
@ApplicationScoped
public class PageHeaders {

    public static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
            + "frame-ancestors 'none'";

    void install(@Observes Filters filters) {
        filters.register(PageHeaders::headers, 2000);
    }

    static void headers(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        if (path.equals("/") || path.equals("/index.html") || path.startsWith("/page/") || path.startsWith("/api/")) {
            ctx.response().putHeader("Content-Security-Policy", CSP)
                    .putHeader("X-Content-Type-Options", "nosniff")
                    .putHeader("Referrer-Policy", "no-referrer")
                    .putHeader("X-Frame-Options", "DENY");
            if (path.equals("/") || path.equals("/index.html") || path.startsWith("/page/")) {
                // The shell and its script and style keep their names across versions: revalidated at each
                // load (Quarkus would let a browser keep them a day), so an upgrade shows at once.
                ctx.response().putHeader("Cache-Control", "no-cache");
            }
        }
        ctx.next();
    }
}
