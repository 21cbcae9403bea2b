package io.pgvigil.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.pgvigil.config.PgvigilConfig;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.ext.web.RoutingContext;

/**
 * Optional bearer tokens: {@code pgvigil.api.token(-file)} guards {@code /api/*}, which can show
 * query text; {@code pgvigil.metrics.token(-file)} guards {@code /metrics}. Health endpoints are never
 * guarded (the kubelet has no token). A request without the right {@code Authorization: Bearer}
 * header gets 401 with {@code WWW-Authenticate: Bearer} and the same {@link Problem} body whatever was
 * wrong (no header, another scheme, a wrong token), so that the answer tells a prober nothing it did
 * not send. Tokens are compared in constant time
 * ({@link MessageDigest#isEqual}); a token file is re-read when its modification time changes, so a
 * rotated Secret takes effect without a restart.
 */
@ApplicationScoped
public class AccessTokens {

    private static final Logger LOG = Logger.getLogger(AccessTokens.class);

    /** One guarded area: a fixed token, or a file read again when it changes. */
    static final class Guard {
        private final String name;
        private final byte[] fixed;
        private final Path file;
        private volatile byte[] fromFile;
        private volatile FileTime readAt;

        Guard(String name, PgvigilConfig.Access access) {
            this.name = name;
            this.fixed = access.token().map(t -> t.strip().getBytes(StandardCharsets.UTF_8)).orElse(null);
            this.file = access.tokenFile().map(Path::of).orElse(null);
        }

        boolean enabled() {
            return fixed != null || file != null;
        }

        boolean admits(String authorization) {
            byte[] expected = expected();
            if (expected == null || authorization == null || !authorization.startsWith("Bearer ")) {
                return false;
            }
            byte[] given = authorization.substring("Bearer ".length()).strip().getBytes(StandardCharsets.UTF_8);
            return MessageDigest.isEqual(expected, given);
        }

        private byte[] expected() {
            if (fixed != null) {
                return fixed;
            }
            try {
                FileTime modified = Files.getLastModifiedTime(file);
                if (!modified.equals(readAt)) {
                    fromFile = Files.readString(file).strip().getBytes(StandardCharsets.UTF_8);
                    readAt = modified;
                }
            } catch (IOException e) {
                // Refuse everyone rather than let everyone in; say why once per change.
                if (fromFile != null || readAt == null) {
                    LOG.errorf("%s.token-file='%s' cannot be read (%s): every request is refused", name, file,
                            e.getClass().getSimpleName());
                }
                fromFile = null;
                readAt = FileTime.fromMillis(0);
            }
            return fromFile;
        }
    }

    /** The one 401 body, for every refusal. */
    static final Problem UNAUTHORIZED = Problem.of(401,
            "this endpoint requires a bearer token: Authorization: Bearer <token>");

    private final Guard api;
    private final Guard metrics;
    private final String metricsPath;
    private final ObjectMapper json;

    @Inject
    public AccessTokens(PgvigilConfig config,
            @org.eclipse.microprofile.config.inject.ConfigProperty(name = "quarkus.micrometer.export.prometheus.path",
                    defaultValue = "/q/metrics") String metricsPath, ObjectMapper json) {
        this.api = new Guard("pgvigil.api", config.api());
        this.metrics = new Guard("pgvigil.metrics", config.metrics());
        this.metricsPath = metricsPath;
        this.json = json;
    }

    /**
     * A filter on every request of the HTTP server, the metrics route included (it is not one of the
     * application's routes, so a route on the application router would not see it).
     */
    void install(@Observes Filters filters) {
        if (!api.enabled() && !metrics.enabled()) {
            return;
        }
        filters.register(this::check, 1000);
        if (api.enabled()) {
            LOG.info("/api/* requires a bearer token (pgvigil.api.token)");
        }
        if (metrics.enabled()) {
            LOG.infof("%s requires a bearer token (pgvigil.metrics.token)", metricsPath);
        }
    }

    private void check(RoutingContext ctx) {
        String path = ctx.normalizedPath();
        Guard guard = path.equals("/api") || path.startsWith("/api/") ? api
                : path.equals(metricsPath) || path.startsWith(metricsPath + "/") ? metrics : null;
        if (guard == null || !guard.enabled() || guard.admits(ctx.request().getHeader("Authorization"))) {
            ctx.next();
        } else {
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            UNAUTHORIZED.send(ctx, json);
        }
    }
}
