package io.pgvigil.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import io.pgvigil.testing.TestConfig;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigValidationException;

/**
 * Table-driven over every key of {@link PgvigilConfig}, found by walking the mapping (so a new key
 * cannot be forgotten): each typed key is given a value of the wrong type and a negative one, and
 * must be refused with a message that names it; each free-text key has a refusal case in
 * {@link ConfigCheckTest} or is listed here with the reason any text is valid.
 */
class ConfigKeysTest {

    private static final String URL = "jdbc:postgresql://localhost:5432/postgres";

    /** Keys where any text is a valid value, and why. */
    static final Map<String, String> ANY_TEXT = Map.of(
            "pgvigil.target.username", "a role name; a wrong one is reported by the server at connect time",
            "pgvigil.target.password", "a password; a wrong one is reported by the server, never echoed",
            "pgvigil.pgbouncer.username", "a PgBouncer user; one not in stats_users is reported by PgBouncer at login (PgBouncerTest)",
            "pgvigil.pgbouncer.password", "a password; a wrong one is reported by PgBouncer, never echoed",
            "pgvigil.databases.include", "glob patterns over database names; one that matches nothing is valid",
            "pgvigil.databases.exclude", "glob patterns over database names; one that matches nothing is valid");

    /** Every leaf key of the mapping with its value type (Optional unwrapped). */
    static Map<String, Type> keys() {
        Map<String, Type> keys = new TreeMap<>();
        walk("pgvigil", PgvigilConfig.class, keys);
        return keys;
    }

    private static void walk(String prefix, Class<?> mapping, Map<String, Type> keys) {
        // getMethods: the keys every check inherits (clear-margin, clear-after) count too.
        for (Method m : mapping.getMethods()) {
            if (m.isDefault() || m.isSynthetic() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            String key = prefix + "." + kebab(m.getName());
            Type type = m.getGenericReturnType();
            if (type instanceof ParameterizedType p && p.getRawType() == Optional.class) {
                type = p.getActualTypeArguments()[0];
            }
            if (type instanceof Class<?> c && c.isInterface() && c.getName().startsWith(PgvigilConfig.class.getName())) {
                walk(key, c, keys);
            } else {
                keys.put(key, type);
            }
        }
    }

    private static String kebab(String camel) {
        return camel.chars().mapToObj(ch -> Character.isUpperCase(ch) ? "-" + (char) Character.toLowerCase(ch)
                : String.valueOf((char) ch)).collect(Collectors.joining());
    }

    /** Bad values by type: one the converter cannot read, one it reads but pgvigil must refuse. */
    static Stream<Arguments> typedKeysWithBadValues() {
        List<Arguments> cases = new ArrayList<>();
        keys().forEach((key, type) -> {
            List<String> bad = type == Duration.class ? List.of("often", "-5s")
                    : type == int.class || type == long.class ? List.of("many", "-1", "1.5")
                    : type == double.class ? List.of("ten percent", "-1")
                    : type == boolean.class ? List.of("maybe", "flase")
                    : type == MemorySize.class ? List.of("lots", "-1")
                    : List.of();
            bad.forEach(value -> cases.add(Arguments.of(key, value)));
        });
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("typedKeysWithBadValues")
    void everyTypedKeyRefusesABadValueNamingTheKey(String key, String value) {
        Map<String, String> props = new HashMap<>(Map.of("pgvigil.target.url", URL));
        props.put(key, value);
        List<String> problems;
        try {
            problems = ConfigCheck.problems(TestConfig.of(props), true);
            problems = new ArrayList<>(problems);
            problems.addAll(ConfigCheck.rawProblems(TestConfig.raw(props)));
        } catch (ConfigValidationException e) {
            // The converter or a constraint annotation refused it: SmallRye's message names the key and the value
            // (a constraint shows it as read: -5s is PT-5S).
            assertThat(e.getMessage()).contains(key).containsIgnoringCase(value);
            return;
        }
        assertThat(problems).as("%s=%s must be refused", key, value).anySatisfy(p -> assertThat(p).contains(key));
    }

    @Test
    void aMisspeltBooleanInTheEnvironmentFormIsRefusedToo() {
        // Kubernetes passes configuration as PGVIGIL_* environment variables (deploy/k8s/base).
        var config = new io.smallrye.config.SmallRyeConfigBuilder()
                .withSources(new io.smallrye.config.EnvConfigSource(Map.of("PGVIGIL_CHECKS_SLOW_QUERY_ENABLED", "flase",
                        "PGVIGIL_INDEXES_ENABLED", "no"), 300))
                .build();
        assertThat(ConfigCheck.rawProblems(config))
                .containsExactly("pgvigil.checks.slow-query.enabled='flase' is not true or false");
    }

    @Test
    void everyBooleanKeyIsCheckedForItsWord() {
        Set<String> booleans = keys().entrySet().stream().filter(e -> e.getValue() == boolean.class)
                .map(Map.Entry::getKey).collect(Collectors.toSet());
        assertThat(ConfigCheck.booleanKeys()).containsExactlyInAnyOrderElementsOf(booleans);
    }

    @Test
    void everyFreeTextKeyHasARefusalCaseOrAReason() throws Exception {
        Set<String> typed = typedKeysWithBadValues().map(a -> (String) a.get()[0]).collect(Collectors.toSet());
        CsvSource table = ConfigCheckTest.class
                .getDeclaredMethod("invalidValueIsRejectedNamingItsKey", String.class, String.class, String.class)
                .getAnnotation(CsvSource.class);
        Set<String> refused = Arrays.stream(table.value()).map(row -> row.split("\\|")[0].trim())
                .collect(Collectors.toSet());
        List<String> uncovered = keys().keySet().stream()
                .filter(k -> !typed.contains(k) && !refused.contains(k) && !ANY_TEXT.containsKey(k)).toList();
        assertThat(uncovered).as("keys without a refusal case in ConfigCheckTest and without a reason in ANY_TEXT")
                .isEmpty();
        assertThat(keys()).as("the walk found the mapping").containsKeys("pgvigil.interval",
                "pgvigil.checks.n-plus-one.ratio-min", "pgvigil.api.token-file", "pgvigil.databases.exclude");
    }
}
