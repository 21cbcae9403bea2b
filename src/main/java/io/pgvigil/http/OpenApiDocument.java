package io.pgvigil.http;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.jandex.IndexView;
import org.jboss.jandex.Indexer;

import io.pgvigil.relations.RelationsResource;
import io.pgvigil.page.PageResource;
import io.pgvigil.statements.StatementsResource;
import io.smallrye.openapi.api.SmallRyeOpenAPI;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /q/openapi}: the REST API's OpenAPI 3.1 document (JSON), scanned by SmallRye OpenAPI
 * from the resources' JAX-RS and OpenAPI annotations, so it cannot drift from the code. Built on the
 * first request and kept. The document's shared parts (title, tags, the problem responses every
 * operation refers to, the optional bearer token) are declared on the package ({@code package-info.java}),
 * where the scanner looks for them in an application without a JAX-RS {@code Application} class.
 *
 * <p>Not the quarkus-smallrye-openapi extension, which would build it at build time: the registry
 * mirror lacks that extension's deployment artifacts for this Quarkus version (see pom.xml).
 */
@ApplicationScoped
public class OpenApiDocument {

    public static final String PATH = "/q/openapi";

    /** Names of the shared responses, for {@code @APIResponse(ref = ...)} on the operations. */
    public static final String BAD_PARAMETER = "BadParameter";
    public static final String UNAUTHORIZED = "Unauthorized";
    public static final String INTERNAL_ERROR = "InternalError";
    public static final String NOT_FOUND = "NotFound";
    public static final String NO_DATA = "NoData";
    static final String BEARER = "bearer";

    /** The resources whose operations make up the API. */
    static final List<Class<?>> RESOURCES = List.of(ApiResource.class, StatementsResource.class,
            RelationsResource.class, PageResource.class);

    private volatile String document;

    void install(@Observes Router router) {
        router.get(PATH).blockingHandler(this::serve);
    }

    private void serve(RoutingContext ctx) {
        ctx.response().putHeader("Content-Type", "application/json").end(document());
    }

    /** The document as JSON. */
    String document() {
        String built = document;
        if (built == null) {
            synchronized (this) {
                if (document == null) {
                    document = build();
                }
                built = document;
            }
        }
        return built;
    }

    private static String build() {
        ClassLoader loader = OpenApiDocument.class.getClassLoader();
        return SmallRyeOpenAPI.builder()
                .withConfig(ConfigProvider.getConfig())
                .withApplicationClassLoader(loader)
                .withScannerClassLoader(loader)
                .withIndex(index())
                .enableModelReader(false)
                .enableStandardStaticFiles(false)
                .build()
                .toJSON();
    }

    /**
     * The classes the scanner reads: the package's definition, the resources and their nested
     * records, and every pgvigil type their records hold, found by walking the record components —
     * a field of a new type needs nothing more here.
     */
    static IndexView index() {
        Indexer indexer = new Indexer();
        Set<Class<?>> seen = new HashSet<>();
        Deque<Class<?>> todo = new ArrayDeque<>(RESOURCES);
        todo.add(Problem.class);
        try {
            todo.add(Class.forName(OpenApiDocument.class.getPackageName() + ".package-info"));
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the OpenAPI definition (package-info) is missing", e);
        }
        while (!todo.isEmpty()) {
            Class<?> type = todo.pop();
            if (!seen.add(type)) {
                continue;
            }
            try {
                indexer.indexClass(type);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            todo.addAll(List.of(type.getDeclaredClasses()));
            if (type.isRecord()) {
                for (RecordComponent component : type.getRecordComponents()) {
                    ours(component.getGenericType(), todo);
                }
            }
        }
        return indexer.complete();
    }

    private static void ours(Type type, Deque<Class<?>> todo) {
        if (type instanceof Class<?> c && c.getName().startsWith("io.pgvigil.")) {
            todo.add(c);
        } else if (type instanceof ParameterizedType p) {
            for (Type argument : p.getActualTypeArguments()) {
                ours(argument, todo);
            }
        }
    }
}
