package io.pgvigil.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged application ({@code target/quarkus-app/quarkus-run.jar}, built by {@code ./mvnw
 * package}) run as its own process, as a user runs it: {@code java -jar}, configuration in system
 * properties, output captured to a file.
 */
public final class PackagedApp implements AutoCloseable {

    public static final Path JAR = Path.of("target/quarkus-app/quarkus-run.jar");

    /**
     * HTTP/1.1, as Prometheus and curl speak it. The JDK client's default (HTTP/2) asks a plain-text
     * server to upgrade on every request, a path no scraper takes and whose rare early close ended one
     * CI run with "EOF reached while reading".
     */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private final Process process;
    private final Path output;
    private int port = -1;

    private PackagedApp(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    /** Starts the jar with {@code -Dkey=value} for each entry, on a free HTTP port. */
    public static PackagedApp start(Map<String, String> properties) {
        return start(properties, List.of());
    }

    /** The same, with JVM options (e.g. the container's {@code -XX:MaxRAMPercentage}). */
    public static PackagedApp start(Map<String, String> properties, List<String> jvmOptions) {
        return start(properties, jvmOptions, Map.of());
    }

    /** The same, with environment variables added to this process' own (e.g. {@code MALLOC_ARENA_MAX}). */
    public static PackagedApp start(Map<String, String> properties, List<String> jvmOptions, Map<String, String> env) {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run ./mvnw verify (the package phase builds it)");
        }
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmOptions);
        command.add("-Dquarkus.http.port=0");
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(JAR.toString());
        try {
            Path output = Files.createTempFile("pgvigil-app", ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().putAll(env);
            Process p = builder.start();
            return new PackagedApp(p, output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for the process to exit (start-up failures) and returns its exit code. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("pgvigil did not exit within " + timeout + "; output:\n" + output());
        }
        return process.exitValue();
    }

    /** The operating-system process id. */
    public long pid() {
        return process.pid();
    }

    public String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The HTTP port, read from Quarkus' "Listening on" line. */
    public int port() {
        if (port < 0) {
            Pattern listening = Pattern.compile("Listening on: http://[^:]+:(\\d+)");
            PgServer.await("pgvigil listens", () -> {
                if (!process.isAlive()) {
                    throw new AssertionError("pgvigil exited with " + process.exitValue() + ":\n" + output());
                }
                return listening.matcher(output()).find();
            });
            Matcher m = listening.matcher(output());
            m.find();
            port = Integer.parseInt(m.group(1));
        }
        return port;
    }

    /** GET a path; returns status and body. */
    public HttpResponse<String> get(String path) {
        return get(path, "*/*");
    }

    /** The Accept header a Prometheus 2.x/3.x server sends when it scrapes. */
    public static final String PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,"
            + "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /**
     * /metrics as a Prometheus server asks for it. The endpoint answers that header with the classic
     * text format, whose label sets end in a comma ({@code {a="b",}}); the comma is dropped here so
     * that lines compare equal to the OpenMetrics ones of the other tests.
     */
    public String metrics() {
        return get("/metrics", PROMETHEUS_ACCEPT).body().replace(",} ", "} ");
    }

    /** GET a path with {@code Authorization: Bearer token}. */
    public HttpResponse<String> getWithToken(String path, String token) {
        return send(path, "*/*", token);
    }

    private HttpResponse<String> get(String path, String accept) {
        return send(path, accept, null);
    }

    private HttpResponse<String> send(String path, String accept, String token) {
        try {
            HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://localhost:" + port() + path))
                    .header("Accept", accept).timeout(Duration.ofSeconds(10));
            if (token != null) {
                builder.header("Authorization", "Bearer " + token);
            }
            HttpRequest request = builder.build();
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            String[] lines = output().split("\n");
            String tail = String.join("\n", java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - 30), lines.length));
            throw new UncheckedIOException("GET " + path + " failed (" + e + "); pgvigil is "
                    + (process.isAlive() ? "running" : "gone, exit code " + process.exitValue())
                    + "; the end of its output:\n" + tail, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void awaitMetric(String line) {
        PgServer.await("/metrics shows " + line, () -> metrics().contains(line + "\n"));
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        output.toFile().delete();
    }
}
