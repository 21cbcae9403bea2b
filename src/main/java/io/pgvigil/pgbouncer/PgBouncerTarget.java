package io.pgvigil.pgbouncer;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.pgvigil.config.PgvigilConfig;

/**
 * The PgBouncer named by {@code pgvigil.pgbouncer.*}: where it listens, what it is called in labels and
 * subjects, who logs in. {@link #problems} says what is wrong with the keys, each message naming its key
 * and value; {@link #of} builds the target from keys that have none.
 *
 * @param name the {@code pgbouncer} label value
 */
public record PgBouncerTarget(String name, String host, int port, String username,
        Optional<String> password, Optional<String> passwordFile) {

    public static final int DEFAULT_PORT = 6432;
    /** A name is a label value and the start of a finding subject: short, no spaces, no slash. */
    private static final String NAME_PATTERN = "[A-Za-z0-9_.:-]{1,63}";

    /** The target, or empty when no {@code pgvigil.pgbouncer.url} is set. Call only on configuration without {@link #problems}. */
    public static Optional<PgBouncerTarget> of(PgvigilConfig.PgBouncer config) {
        if (config.url().isEmpty()) {
            return Optional.empty();
        }
        URI uri = parse(config.url().get(), new ArrayList<>());
        String host = host(uri);
        int port = port(uri);
        String name = config.name().orElse(host + ":" + port);
        return Optional.of(new PgBouncerTarget(name, host, port, config.username().orElseThrow(),
                config.password(), config.passwordFile()));
    }

    /** Everything wrong with {@code pgvigil.pgbouncer.*}, each naming the key and the value. */
    public static List<String> problems(PgvigilConfig.PgBouncer config) {
        List<String> problems = new ArrayList<>();
        if (config.url().isEmpty()) {
            for (var set : List.of(config.name().map(v -> "name"), config.username().map(v -> "username"),
                    config.password().map(v -> "password"), config.passwordFile().map(v -> "password-file"))) {
                set.ifPresent(key -> problems.add("pgvigil.pgbouncer." + key
                        + " is set but pgvigil.pgbouncer.url is not: set the url of the PgBouncer to watch, or remove it"));
            }
            return problems;
        }
        parse(config.url().get(), problems);
        config.name().filter(n -> !n.matches(NAME_PATTERN)).ifPresent(n -> problems.add("pgvigil.pgbouncer.name='" + n
                + "' is not a valid name: 1 to 63 letters, digits, '_', '.', ':' or '-' (it becomes a label value)"));
        if (config.username().isEmpty()) {
            problems.add("pgvigil.pgbouncer.username is not set: give a user listed in PgBouncer's stats_users");
        }
        if (config.password().isPresent() && config.passwordFile().isPresent()) {
            problems.add("pgvigil.pgbouncer.password and pgvigil.pgbouncer.password-file are both set: set only one");
        }
        config.passwordFile().ifPresent(file -> {
            try {
                Files.readString(Path.of(file));
            } catch (IOException | RuntimeException e) {
                problems.add("pgvigil.pgbouncer.password-file='" + file + "' cannot be read: " + e.getClass().getSimpleName()
                        + (e.getMessage() == null ? "" : " " + e.getMessage()));
            }
        });
        return problems;
    }

    private static URI parse(String url, List<String> problems) {
        String expected = " (expected postgresql://host:port, e.g. postgresql://localhost:6432)";
        String bare = url.startsWith("jdbc:") ? url.substring(5) : url;
        URI uri;
        try {
            uri = new URI(bare);
        } catch (URISyntaxException e) {
            problems.add("pgvigil.pgbouncer.url='" + shown(url) + "' is not a URL" + expected);
            return null;
        }
        if (!"postgresql".equals(uri.getScheme()) && !"postgres".equals(uri.getScheme()) || host(uri) == null) {
            problems.add("pgvigil.pgbouncer.url='" + shown(url) + "' is not a postgresql:// URL with a host" + expected);
        } else if (uri.getRawQuery() != null || uri.getRawUserInfo() != null) {
            problems.add("pgvigil.pgbouncer.url='" + shown(url) + "' has a query string or user info: give the user in"
                    + " pgvigil.pgbouncer.username and the password in pgvigil.pgbouncer.password-file");
        } else if (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")
                && !uri.getPath().equals("/pgbouncer")) {
            problems.add("pgvigil.pgbouncer.url='" + shown(url) + "' names database " + uri.getPath().substring(1)
                    + ": pgvigil reads PgBouncer's admin console, database pgbouncer" + expected);
        } else if (port(uri) == 0 || port(uri) > 65535) {
            problems.add("pgvigil.pgbouncer.url='" + shown(url) + "' has port " + port(uri) + ": must be 1 to 65535");
        }
        return uri;
    }

    /**
     * A host name with an underscore ({@code my_pgbouncer}, a docker compose service) is no RFC 2396
     * host, so {@link URI#getHost()} is null for it and the authority is read here instead.
     */
    private static final java.util.regex.Pattern REGISTRY_AUTHORITY =
            java.util.regex.Pattern.compile("([A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?");

    private static String host(URI uri) {
        if (uri.getHost() != null) {
            return uri.getHost();
        }
        java.util.regex.Matcher m = uri.getRawAuthority() == null ? null : REGISTRY_AUTHORITY.matcher(uri.getRawAuthority());
        return m != null && m.matches() ? m.group(1) : null;
    }

    private static int port(URI uri) {
        if (uri.getHost() == null && uri.getRawAuthority() != null) {
            java.util.regex.Matcher m = REGISTRY_AUTHORITY.matcher(uri.getRawAuthority());
            if (m.matches() && m.group(2) != null) {
                return Integer.parseInt(m.group(2));
            }
        }
        return uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort();
    }

    /** A URL without what may carry a secret (a query string, user info), for messages. */
    private static String shown(String url) {
        String cut = url.contains("?") ? url.substring(0, url.indexOf('?')) + "?…" : url;
        return cut.replaceAll("//[^/@]*@", "//…@");
    }

    /** The password now: the file is re-read at each connect, so a rotated Secret is used from the next one. */
    String currentPassword() throws SQLException {
        if (passwordFile.isPresent()) {
            try {
                return Files.readString(Path.of(passwordFile.get())).replaceAll("[\\r\\n]+$", "");
            } catch (IOException e) {
                throw new SQLException("pgvigil.pgbouncer.password-file='" + passwordFile.get() + "' cannot be read: " + e, "28P01");
            }
        }
        return password.orElse(null);
    }

    /** Without the password, which the record's own toString would print. */
    @Override
    public String toString() {
        return "PgBouncerTarget[name=" + name + ", address=" + address() + ", username=" + username + ", password="
                + (password.isPresent() ? "(set)" : "(none)") + ", passwordFile=" + passwordFile.orElse("(none)") + "]";
    }

    /** {@code host:port}, for logs and the status API. */
    public String address() {
        return host + ":" + port;
    }
}
