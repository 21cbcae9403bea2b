package io.pgvigil.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts a real PostgreSQL (the default major) for {@code @QuarkusTest} and
 * {@code @QuarkusIntegrationTest}, and points pgvigil at it as the pg_monitor role, with the
 * password in a file as a Kubernetes Secret would give it. Tests get the server in a
 * {@link PgServer} field.
 */
public class PgTestResource implements QuarkusTestResourceLifecycleManager {

    private PgServer server;
    private Path passwordFile;

    @Override
    public Map<String, String> start() {
        // A bounded max_slot_wal_keep_size gives slots a safe_wal_size, so that every slot series exists.
        server = PgServer.start(PgServer.defaultMajor(), Map.of("max_slot_wal_keep_size", "1GB"));
        try {
            passwordFile = Files.createTempFile("pgvigil-test-password", "");
            Files.writeString(passwordFile, PgServer.MONITOR_PASSWORD + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Returned settings reach both the @QuarkusTest application and the packaged jar of @QuarkusIntegrationTest.
        return Map.of("pgvigil.interval", "1s", "pgvigil.indexes.interval", "1s",
                "pgvigil.target.url", server.jdbcUrl("postgres"),
                "pgvigil.target.username", PgServer.MONITOR_ROLE,
                "pgvigil.target.password-file", passwordFile.toString());
    }

    @Override
    public void inject(TestInjector injector) {
        injector.injectIntoFields(server, new TestInjector.MatchesType(PgServer.class));
    }

    @Override
    public void stop() {
        if (server != null) {
            server.close();
        }
        if (passwordFile != null) {
            passwordFile.toFile().delete();
        }
    }
}
