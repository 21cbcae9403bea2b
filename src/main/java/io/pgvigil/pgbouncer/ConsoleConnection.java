package io.pgvigil.pgbouncer;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One session on PgBouncer's admin console (the virtual {@code pgbouncer} database), speaking the
 * PostgreSQL wire protocol's simple query flow and nothing else.
 *
 * <p>Why not pgjdbc: the console reports its own version ({@code 1.18.0/bouncer}) as
 * {@code server_version}, and pgjdbc 42.7.5 and later (42.7.13 here) answer a server older than 12 with
 * {@code SET extra_float_digits = 2} right after the login, whatever {@code preferQueryMode} or
 * {@code assumeMinServerVersion} say. The console refuses every SET from a {@code stats_users} user
 * ("admin access needed"), and from an admin before PgBouncer 1.25 too ("SET failed"), so pgjdbc
 * cannot log in as the read-only user pgvigil must use. This client sends only the startup packet
 * (user, database, application_name: parameters PgBouncer always accepts, so no
 * {@code ignore_startup_parameters} is needed), logs in with cleartext, MD5 or SCRAM-SHA-256, and
 * runs {@code SHOW} commands with the simple query protocol, the only one the console speaks. Rows come
 * back as text by column name, because the columns change between PgBouncer versions.
 *
 * <p>Every read is bounded by the socket timeout, and the login by one deadline: a PgBouncer that
 * stops answering fails the read, never hangs the poll. No TLS: the console is meant to be reached over localhost or the pod network
 * (see README); the password is sent hashed under MD5 and SCRAM.
 */
final class ConsoleConnection implements AutoCloseable {

    private static final int PROTOCOL_3_0 = 196608;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final Map<String, String> parameters = new HashMap<>();
    /** How PgBouncer had pgvigil log in: {@code trust}, {@code cleartext}, {@code md5} or {@code SCRAM-SHA-256}. */
    private String authMethod = "trust";

    private ConsoleConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    }

    /**
     * Connects and logs in. {@code connectTimeout} is one deadline for the TCP connect and the whole
     * login together (a peer that trickles messages cannot stretch it); {@code readTimeout} bounds every
     * later read. Resolving {@code host} is the system resolver's, before the deadline starts.
     *
     * @throws SQLException with PgBouncer's own message and SQLSTATE when it refuses the login, or
     *                      SQLSTATE 08001 when it cannot be reached
     */
    static ConsoleConnection open(String host, int port, String user, String password, String applicationName,
            Duration connectTimeout, Duration readTimeout) throws SQLException {
        Socket socket = new Socket();
        ConsoleConnection c = null;
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            InetSocketAddress address = new InetSocketAddress(host, port);
            long deadline = System.nanoTime() + connectTimeout.toNanos();
            socket.connect(address, (int) Math.max(1, connectTimeout.toMillis()));
            c = new ConsoleConnection(socket);
            c.login(user, password, applicationName, deadline, connectTimeout);
            socket.setSoTimeout((int) Math.max(1, readTimeout.toMillis()));
            return c;
        } catch (IOException e) {
            closeQuietly(socket);
            String why = c != null && e instanceof SocketTimeoutException
                    ? "the login did not complete within " + connectTimeout.toMillis() + " ms" : describe(e);
            throw new SQLException("cannot reach PgBouncer at " + host + ":" + port + ": " + why, "08001", e);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(socket);
            throw e;
        }
    }

    /** A parameter PgBouncer reported at login ({@code server_version}, {@code application_name}, ...). */
    String parameter(String name) {
        return parameters.get(name);
    }

    /**
     * Runs one console command and returns its rows, each a map from column name to text (null for
     * NULL), in the order PgBouncer sent them.
     */
    List<Map<String, String>> query(String sql) throws SQLException {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(sql.getBytes(StandardCharsets.UTF_8));
            body.write(0);
            send('Q', body.toByteArray());
            out.flush();
            List<String> columns = List.of();
            List<Map<String, String>> rows = new ArrayList<>();
            SQLException error = null;
            while (true) {
                char type = (char) in.readUnsignedByte();
                byte[] msg = readBody();
                switch (type) {
                    case 'T' -> columns = rowDescription(msg);
                    case 'D' -> rows.add(dataRow(msg, columns));
                    case 'E' -> error = error(msg);
                    case 'Z' -> {
                        if (error != null) {
                            throw error;
                        }
                        return rows;
                    }
                    default -> {
                        // CommandComplete, EmptyQueryResponse, NoticeResponse, ParameterStatus: nothing to keep
                    }
                }
            }
        } catch (SocketTimeoutException e) {
            throw new SQLException("PgBouncer did not answer " + sql + " within " + socketTimeoutMillis() + " ms", "57014", e);
        } catch (IOException e) {
            throw new SQLException("connection to PgBouncer lost during " + sql + ": " + describe(e), "08006", e);
        }
    }

    String authMethod() {
        return authMethod;
    }

    /** Whether the socket is still open on this side (a lost peer shows only at the next query). */
    boolean isOpen() {
        return !socket.isClosed();
    }

    @Override
    public void close() {
        if (socket.isClosed()) {
            return;
        }
        try {
            send('X', new byte[0]);
            out.flush();
        } catch (IOException ignored) {
            // the peer is gone already; closing the socket is all that is left
        }
        closeQuietly(socket);
    }

    private void login(String user, String password, String applicationName, long deadline, Duration connectTimeout)
            throws IOException, SQLException {
        ByteArrayOutputStream startup = new ByteArrayOutputStream();
        DataOutputStream s = new DataOutputStream(startup);
        s.writeInt(PROTOCOL_3_0);
        for (String[] kv : new String[][] { { "user", user }, { "database", "pgbouncer" },
                { "application_name", applicationName } }) {
            s.write(kv[0].getBytes(StandardCharsets.UTF_8));
            s.write(0);
            s.write(kv[1].getBytes(StandardCharsets.UTF_8));
            s.write(0);
        }
        s.write(0);
        out.writeInt(startup.size() + 4);
        out.write(startup.toByteArray());
        out.flush();
        Scram scram = null;
        while (true) {
            untilDeadline(deadline, connectTimeout);
            char type = (char) in.readUnsignedByte();
            untilDeadline(deadline, connectTimeout);
            byte[] msg = readBody();
            switch (type) {
                case 'R' -> scram = authenticate(msg, user, password, scram);
                case 'S' -> {
                    String[] kv = strings(msg);
                    if (kv.length >= 2) {
                        parameters.put(kv[0], kv[1]);
                    }
                }
                case 'E' -> throw error(msg);
                case 'Z' -> {
                    return;
                }
                default -> {
                    // BackendKeyData, NoticeResponse
                }
            }
        }
    }

    /** The socket timeout of the next login read: what is left of the login's deadline. */
    private void untilDeadline(long deadline, Duration connectTimeout) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            throw new SocketTimeoutException("the login did not complete within " + connectTimeout.toMillis() + " ms");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
    }

    private Scram authenticate(byte[] msg, String user, String password, Scram scram) throws IOException, SQLException {
        int code = ((msg[0] & 0xff) << 24) | ((msg[1] & 0xff) << 16) | ((msg[2] & 0xff) << 8) | (msg[3] & 0xff);
        switch (code) {
            case 0 -> {
                // AuthenticationOk. Once SCRAM has started, only a server that proved it knows the password
                // (SASLFinal with a matching signature) may let pgvigil in: skipping the proof is how an
                // impostor would accept any password.
                if (scram != null && !scram.verified) {
                    throw new SQLException("PgBouncer ended SCRAM authentication without proving it knows the password"
                            + " (no server signature): not the server pgvigil was configured for", "28000");
                }
                return null;
            }
            case 3 -> {
                authMethod = "cleartext";
                sendPassword(requirePassword(password));
            }
            case 5 -> {
                authMethod = "md5";
                byte[] salt = java.util.Arrays.copyOfRange(msg, 4, 8);
                String inner = md5Hex((requirePassword(password) + user).getBytes(StandardCharsets.UTF_8));
                byte[] saltedInput = new byte[inner.length() + 4];
                System.arraycopy(inner.getBytes(StandardCharsets.US_ASCII), 0, saltedInput, 0, inner.length());
                System.arraycopy(salt, 0, saltedInput, inner.length(), 4);
                sendPassword("md5" + md5Hex(saltedInput));
            }
            case 10 -> {
                String mechanisms = new String(msg, 4, msg.length - 4, StandardCharsets.UTF_8);
                if (!List.of(mechanisms.split("\0")).contains("SCRAM-SHA-256")) {
                    throw new SQLException("PgBouncer offers no SASL mechanism pgvigil speaks: " + mechanisms.replace('\0', ' '), "28000");
                }
                authMethod = "SCRAM-SHA-256";
                Scram started = new Scram(requirePassword(password));
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                body.write("SCRAM-SHA-256".getBytes(StandardCharsets.US_ASCII));
                body.write(0);
                byte[] first = started.clientFirst().getBytes(StandardCharsets.UTF_8);
                new DataOutputStream(body).writeInt(first.length);
                body.write(first);
                send('p', body.toByteArray());
                out.flush();
                return started;
            }
            case 11 -> {
                if (scram == null) {
                    throw new SQLException("PgBouncer sent SASLContinue without SASL", "08P01");
                }
                String serverFirst = new String(msg, 4, msg.length - 4, StandardCharsets.UTF_8);
                send('p', scram.clientFinal(serverFirst).getBytes(StandardCharsets.UTF_8));
                out.flush();
                return scram;
            }
            case 12 -> {
                if (scram == null || !scram.verify(new String(msg, 4, msg.length - 4, StandardCharsets.UTF_8))) {
                    throw new SQLException("PgBouncer's SCRAM server signature does not match: not the server pgvigil was configured for", "28000");
                }
                scram.verified = true;
                return scram;
            }
            default -> throw new SQLException("PgBouncer asks for authentication method " + code
                    + ", which pgvigil does not speak (it speaks plain, md5 and scram-sha-256)", "28000");
        }
        return scram;
    }

    private static String requirePassword(String password) throws SQLException {
        if (password == null) {
            throw new SQLException("PgBouncer asks for a password and none is configured (pgvigil.pgbouncer.password-file)", "28P01");
        }
        return password;
    }

    private void sendPassword(String password) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(password.getBytes(StandardCharsets.UTF_8));
        body.write(0);
        send('p', body.toByteArray());
        out.flush();
    }

    private void send(char type, byte[] body) throws IOException {
        out.writeByte(type);
        out.writeInt(body.length + 4);
        out.write(body);
    }

    private byte[] readBody() throws IOException {
        int length = in.readInt() - 4;
        if (length < 0 || length > 64 << 20) {
            throw new IOException("malformed message length " + (length + 4) + ": not the PostgreSQL protocol");
        }
        byte[] body = new byte[length];
        in.readFully(body);
        return body;
    }

    private static List<String> rowDescription(byte[] msg) {
        int n = ((msg[0] & 0xff) << 8) | (msg[1] & 0xff);
        List<String> names = new ArrayList<>(n);
        int pos = 2;
        for (int i = 0; i < n; i++) {
            int end = pos;
            while (msg[end] != 0) {
                end++;
            }
            names.add(new String(msg, pos, end - pos, StandardCharsets.UTF_8));
            pos = end + 1 + 18; // table oid, column number, type oid, size, modifier, format
        }
        return names;
    }

    private static Map<String, String> dataRow(byte[] msg, List<String> columns) {
        int n = ((msg[0] & 0xff) << 8) | (msg[1] & 0xff);
        Map<String, String> row = new LinkedHashMap<>();
        int pos = 2;
        for (int i = 0; i < n; i++) {
            int len = ((msg[pos] & 0xff) << 24) | ((msg[pos + 1] & 0xff) << 16) | ((msg[pos + 2] & 0xff) << 8) | (msg[pos + 3] & 0xff);
            pos += 4;
            String value = len < 0 ? null : new String(msg, pos, len, StandardCharsets.UTF_8);
            pos += Math.max(0, len);
            row.put(i < columns.size() ? columns.get(i) : "column" + i, value);
        }
        return row;
    }

    /** An ErrorResponse as an exception carrying PgBouncer's message and SQLSTATE. */
    private static SQLException error(byte[] msg) {
        String message = null;
        String code = null;
        int pos = 0;
        while (pos < msg.length && msg[pos] != 0) {
            char field = (char) msg[pos++];
            int end = pos;
            while (end < msg.length && msg[end] != 0) {
                end++;
            }
            String value = new String(msg, pos, end - pos, StandardCharsets.UTF_8);
            pos = end + 1;
            if (field == 'M') {
                message = value;
            } else if (field == 'C') {
                code = value;
            }
        }
        return new SQLException("PgBouncer: " + (message == null ? "error" : message), code);
    }

    private static String[] strings(byte[] msg) {
        return new String(msg, StandardCharsets.UTF_8).split("\0");
    }

    private int socketTimeoutMillis() {
        try {
            return socket.getSoTimeout();
        } catch (IOException e) {
            return -1;
        }
    }

    private static String md5Hex(byte[] input) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(input));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no MD5", e);
        }
    }

    private static String describe(IOException e) {
        if (e instanceof EOFException) {
            return "the connection was closed by PgBouncer";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing more to do with a socket being thrown away
        }
    }

    /**
     * SCRAM-SHA-256 (RFC 7677) without channel binding, as PostgreSQL and PgBouncer use it. The password
     * is used as configured, without SASLprep: an ASCII password (without control characters) is its own
     * SASLprep form; a non-ASCII one works only when it is already normalized (NFKC), so pgvigil's
     * PgBouncer password should be ASCII (README).
     */
    private static final class Scram {

        /** More PBKDF2 rounds than any sane server asks (PostgreSQL's default is 4096): a server asking more is refused. */
        static final int MAX_ITERATIONS = 1_000_000;

        private boolean verified;
        private final String password;
        private final String clientNonce;
        private String clientFirstBare;
        private byte[] saltedPassword;
        private String authMessage;

        Scram(String password) {
            this.password = password;
            byte[] nonce = new byte[18];
            RANDOM.nextBytes(nonce);
            this.clientNonce = Base64.getEncoder().encodeToString(nonce);
        }

        String clientFirst() {
            // The user name is taken from the startup packet; PostgreSQL's own clients leave it empty here.
            clientFirstBare = "n=,r=" + clientNonce;
            return "n,," + clientFirstBare;
        }

        String clientFinal(String serverFirst) throws SQLException {
            if (serverFirst.startsWith("m=")) {
                throw new SQLException("PgBouncer's SCRAM server-first message asks for a mandatory extension (m=),"
                        + " which pgvigil does not support", "08P01");
            }
            Map<Character, String> attrs = attributes(serverFirst);
            String nonce = attrs.get('r');
            if (nonce == null || !nonce.startsWith(clientNonce) || nonce.length() <= clientNonce.length()
                    || attrs.get('s') == null || attrs.get('i') == null) {
                throw new SQLException("malformed SCRAM server-first message from PgBouncer (its nonce must extend"
                        + " pgvigil's; salt and iteration count are required)", "08P01");
            }
            byte[] salt;
            int iterations;
            try {
                salt = Base64.getDecoder().decode(attrs.get('s'));
                iterations = Integer.parseInt(attrs.get('i'));
            } catch (IllegalArgumentException e) {
                throw new SQLException("malformed SCRAM server-first message from PgBouncer: " + e.getMessage(), "08P01", e);
            }
            if (iterations < 1 || iterations > MAX_ITERATIONS) {
                throw new SQLException("PgBouncer asks for " + iterations + " SCRAM iterations; pgvigil accepts 1 to "
                        + MAX_ITERATIONS + " (PostgreSQL uses 4096), so that a server cannot make the login burn CPU", "08P01");
            }
            try {
                SecretKeyFactory pbkdf2 = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
                saltedPassword = pbkdf2.generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
                String withoutProof = "c=biws,r=" + nonce;
                authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
                byte[] clientKey = hmac(saltedPassword, "Client Key");
                byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
                byte[] signature = hmac(storedKey, authMessage);
                byte[] proof = new byte[clientKey.length];
                for (int i = 0; i < proof.length; i++) {
                    proof[i] = (byte) (clientKey[i] ^ signature[i]);
                }
                return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
            } catch (GeneralSecurityException e) {
                throw new SQLException("SCRAM-SHA-256 is not available in this JDK: " + e, "28000", e);
            }
        }

        boolean verify(String serverFinal) {
            String expected = attributes(serverFinal).get('v');
            if (expected == null || saltedPassword == null) {
                return false;
            }
            try {
                byte[] serverKey = hmac(saltedPassword, "Server Key");
                return MessageDigest.isEqual(Base64.getDecoder().decode(expected), hmac(serverKey, authMessage));
            } catch (GeneralSecurityException e) {
                return false;
            }
        }

        private static Map<Character, String> attributes(String message) {
            Map<Character, String> attrs = new HashMap<>();
            for (String part : message.split(",")) {
                if (part.length() >= 2 && part.charAt(1) == '=') {
                    attrs.put(part.charAt(0), part.substring(2));
                }
            }
            return attrs;
        }

        private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        }
    }
}
