/**
 * The REST API ({@code /api/v1}), its errors (RFC 9457 problems), bearer tokens, readiness and the
 * {@code /metrics} format. The annotation is the OpenAPI document's shared part (served by
 * {@link io.pgvigil.http.OpenApiDocument}); every name in it is documented in docs/api.md.
 */
@OpenAPIDefinition(
        info = @Info(title = "pgvigil", version = "v1",
                description = "PostgreSQL health monitor: open findings, pg_stat_statements per interval, indexes and "
                        + "tables of every database, pgvigil's own state. Every answer reads the latest poll; no "
                        + "request reaches the database. Names and units: docs/api.md."),
        tags = {
                @Tag(name = "findings", description = "Open breaches of the checks"),
                @Tag(name = "statements", description = "pg_stat_statements, per poll interval"),
                @Tag(name = "relations", description = "Indexes and tables, as of each database's latest visit"),
                @Tag(name = "status", description = "pgvigil itself: target, polls, collectors, visits") },
        securitySets = {
                @SecurityRequirementsSet({}),
                @SecurityRequirementsSet(@SecurityRequirement(name = io.pgvigil.http.OpenApiDocument.BEARER)) },
        components = @Components(
                securitySchemes = @SecurityScheme(securitySchemeName = io.pgvigil.http.OpenApiDocument.BEARER,
                        type = SecuritySchemeType.HTTP, scheme = "bearer",
                        description = "Only when pgvigil.api.token (or .token-file) is set"),
                responses = {
                        @APIResponse(name = io.pgvigil.http.OpenApiDocument.BAD_PARAMETER, responseCode = "400",
                                description = "A query parameter is wrong: parameter and value name it",
                                content = @Content(mediaType = io.pgvigil.http.Problem.MEDIA_TYPE,
                                        schema = @Schema(implementation = io.pgvigil.http.Problem.class))),
                        @APIResponse(name = io.pgvigil.http.OpenApiDocument.UNAUTHORIZED, responseCode = "401",
                                description = "pgvigil.api.token is set and the request has no Authorization: Bearer "
                                        + "header with it (WWW-Authenticate: Bearer)",
                                content = @Content(mediaType = io.pgvigil.http.Problem.MEDIA_TYPE,
                                        schema = @Schema(implementation = io.pgvigil.http.Problem.class))),
                        @APIResponse(name = io.pgvigil.http.OpenApiDocument.NOT_FOUND, responseCode = "404",
                                description = "What the path names does not exist (a queryid pg_stat_statements does not know)",
                                content = @Content(mediaType = io.pgvigil.http.Problem.MEDIA_TYPE,
                                        schema = @Schema(implementation = io.pgvigil.http.Problem.class))),
                        @APIResponse(name = io.pgvigil.http.OpenApiDocument.INTERNAL_ERROR, responseCode = "500",
                                description = "An unexpected error; pgvigil's log has it",
                                content = @Content(mediaType = io.pgvigil.http.Problem.MEDIA_TYPE,
                                        schema = @Schema(implementation = io.pgvigil.http.Problem.class))),
                        @APIResponse(name = io.pgvigil.http.OpenApiDocument.NO_DATA, responseCode = "503",
                                description = "Nothing was measured to answer with; reason says why",
                                headers = @Header(name = "Retry-After", description = "Seconds until the next poll "
                                        + "(pgvigil.interval); absent for collector-off, which retrying does not "
                                        + "change",
                                        schema = @Schema(type = SchemaType.INTEGER)),
                                content = @Content(mediaType = io.pgvigil.http.Problem.MEDIA_TYPE,
                                        schema = @Schema(implementation = io.pgvigil.http.Problem.class))) }))
package io.pgvigil.http;

import org.eclipse.microprofile.openapi.annotations.Components;
import org.eclipse.microprofile.openapi.annotations.OpenAPIDefinition;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.enums.SecuritySchemeType;
import org.eclipse.microprofile.openapi.annotations.headers.Header;
import org.eclipse.microprofile.openapi.annotations.info.Info;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirementsSet;
import org.eclipse.microprofile.openapi.annotations.security.SecurityScheme;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
