package io.pgvigil.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * src/main/docker/Dockerfile.jvm cannot be built here (no Docker engine), so after {@code ./mvnw
 * package} this checks what it needs: every path it copies exists, the jar it runs is among them, it
 * runs as a non-root user and exposes pgvigil's port.
 */
class DockerfileIT {

    static final Path DOCKERFILE = Path.of("src/main/docker/Dockerfile.jvm");

    @Test
    void everythingTheImageCopiesIsBuiltByPackage() throws IOException {
        List<String> lines = Files.readAllLines(DOCKERFILE);
        List<String> sources = new ArrayList<>();
        for (String line : lines) {
            if (line.startsWith("COPY ")) {
                String[] parts = line.trim().split("\\s+");
                sources.add(parts[parts.length - 2]);
            }
        }
        assertThat(sources).containsExactly("target/quarkus-app/lib/", "target/quarkus-app/*.jar",
                "target/quarkus-app/app/", "target/quarkus-app/quarkus/");
        for (String source : sources) {
            if (source.contains("*")) {
                Path dir = Path.of(source).getParent();
                try (DirectoryStream<Path> matches = Files.newDirectoryStream(dir, Path.of(source).getFileName().toString())) {
                    assertThat(matches.iterator().hasNext()).as(source + " matches a file").isTrue();
                }
            } else {
                assertThat(Path.of(source)).as(source).isDirectory();
                try (var files = Files.list(Path.of(source))) {
                    assertThat(files.count()).as(source + " is not empty").isPositive();
                }
            }
        }
        assertThat(Path.of("target/quarkus-app/quarkus-run.jar")).exists();
        assertThat(lines).anyMatch(l -> l.equals("ENV JAVA_APP_JAR=\"/deployments/quarkus-run.jar\""));
        assertThat(lines).anyMatch(l -> l.equals("USER 185"));
        assertThat(lines).anyMatch(l -> l.equals("EXPOSE 9187"));
        assertThat(lines).noneMatch(l -> l.startsWith("USER root") || l.equals("USER 0"));
    }
}
