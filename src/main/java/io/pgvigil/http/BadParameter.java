package io.pgvigil.http;

import java.util.Map;

import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** A 400 answer of the REST API: {@code {"error": "<what is wrong with which parameter>"}}. */
public final class BadParameter {

    private BadParameter() {
    }

    public static BadRequestException of(String message) {
        return new BadRequestException(Response.status(400).type(MediaType.APPLICATION_JSON)
                .entity(Map.of("error", message)).build());
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
            throw of(name + "='" + value + "' must be a whole number from 1 to " + max);
        }
        return n;
    }
}
