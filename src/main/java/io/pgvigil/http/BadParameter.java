package io.pgvigil.http;

import java.util.Collection;

import jakarta.ws.rs.WebApplicationException;

/** The checks every query parameter of the REST API goes through; a bad value is a 400 {@link Problem} naming it. */
public final class BadParameter {

    private BadParameter() {
    }

    /** A 400 about {@code parameter='value'}; {@code detail} says what is wrong with it, naming both. */
    public static WebApplicationException of(String parameter, String value, String detail) {
        return Problem.badParameter(parameter, value, detail).exception();
    }

    /** {@code value} as a whole number from 1 to {@code max}, or a 400 naming the parameter. */
    public static int limit(String name, String value, int max) {
        int n;
        try {
            n = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > max) {
            throw of(name, value, name + "='" + value + "' must be a whole number from 1 to " + max);
        }
        return n;
    }

    /** {@code true} or {@code false}, exactly, or a 400 naming the parameter. */
    public static boolean flag(String name, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            throw of(name, value, name + "='" + value + "' must be true or false");
        }
        return value.equals("true");
    }

    /** One of {@code allowed}, or a 400 listing them. */
    public static String oneOf(String name, String value, Collection<String> allowed) {
        if (!allowed.contains(value)) {
            throw of(name, value, name + "='" + value + "' is not one of " + String.join(", ", allowed));
        }
        return value;
    }
}
