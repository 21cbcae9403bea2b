package io.pgvigil.testing;


import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Prometheus' own binaries (Debian's {@code prometheus} package: {@code promtool} and
 * {@code prometheus}). Where they are missing, a test using them is skipped with a message saying
 * how to install them — unless the environment variable {@code CI} is set ({@code .ci/run} sets it
 * and installs the package), where a missing binary fails the test instead.
 */
public final class Promtool {

    public record Result(int exitCode, String output) {
    }

    private Promtool() {
    }

    /** The binary on the PATH, or empty. */
    public static Optional<Path> find(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The binary, or the test is skipped (outside CI) or fails (in CI) with the way to install it. */
    public static Path require(String name) {
        Optional<Path> binary = find(name);
        String message = name + " is not installed: install Debian's prometheus package (sudo apt-get install -y"
                + " prometheus), as .ci/run does, to run this test";
        Installed.require(binary.isPresent(), message);
        return binary.get();
    }

    public static Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(require("promtool").toString());
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("promtool " + String.join(" ", args) + " did not finish in 60 s");
        }
        return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
