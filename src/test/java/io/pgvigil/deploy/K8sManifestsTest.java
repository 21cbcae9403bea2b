package io.pgvigil.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.pgvigil.config.ConfigCheck;
import io.pgvigil.config.PgvigilConfig;

/**
 * deploy/k8s: every manifest parses into the real Kubernetes object model (fabric8) with no field the
 * model does not know, and the wiring holds — ports, probe and metrics paths of the application,
 * PodMonitor and Service selecting the pod, the PrometheusRule equal to alerts/, no secret value in
 * plain text, the restricted security context, a NetworkPolicy that keeps 5432 open.
 */
class K8sManifestsTest {

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final Path K8S = Path.of("deploy/k8s");
    static final Map<String, Class<?>> KINDS = Map.of("StatefulSet", StatefulSet.class, "Deployment", Deployment.class,
            "Service", Service.class, "ConfigMap", ConfigMap.class, "NetworkPolicy", NetworkPolicy.class,
            "PodMonitor", PodMonitor.class, "PrometheusRule", PrometheusRule.class);

    record Manifest(Path file, JsonNode tree, Object object) {
    }

    static List<Manifest> manifests(Path folder) throws IOException {
        List<Manifest> all = new ArrayList<>();
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                String name = file.getFileName().toString();
                // move-*.yaml and patch-*.yaml are JSON patches of a variant, checked applied to the base below.
                if (name.equals("kustomization.yaml") || name.startsWith("move-") || name.startsWith("patch-")) {
                    continue;
                }
                JsonNode tree = YAML.readTree(file.toFile());
                Class<?> type = KINDS.get(tree.path("kind").asText());
                assertThat(type).as(file + ": kind " + tree.path("kind")).isNotNull();
                all.add(new Manifest(file, tree, YAML.treeToValue(tree, type)));
            }
        }
        return all;
    }

    @SuppressWarnings("unchecked")
    static <T> List<T> of(List<Manifest> manifests, Class<T> type) {
        return manifests.stream().filter(m -> type.isInstance(m.object())).map(m -> (T) m.object()).toList();
    }

    static Properties applicationProperties() throws IOException {
        Properties p = new Properties();
        try (var in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            p.load(in);
        }
        return p;
    }

    @Test
    void everyManifestIsAKubernetesObjectWithNoUnknownField() throws Exception {
        List<Manifest> all = manifests(K8S);
        assertThat(all).hasSize(13);
        for (Manifest m : all) {
            List<String> unknown = new ArrayList<>();
            unknownFields(m.object(), m.tree().path("kind").asText(), unknown, new IdentityHashMap<>());
            assertThat(unknown).as(m.file() + ": fields the Kubernetes model does not know").isEmpty();
            assertThat(m.tree().path("metadata").path("name").asText()).as(m.file() + " name").isNotBlank();
        }
    }

    @Test
    void aMisspeltOrMisplacedFieldIsCaught() throws Exception {
        JsonNode tree = YAML.readTree("""
                apiVersion: apps/v1
                kind: StatefulSet
                metadata: {name: x}
                spec:
                  template:
                    spec:
                      containers:
                        - name: pgvigil
                          readinesProbe: {httpGet: {path: /q/health/ready, port: 9187}}
                          securityContext: {runAsNonRoot: true, readOnlyRootFileSystem: true}
                """);
        List<String> unknown = new ArrayList<>();
        unknownFields(YAML.treeToValue(tree, StatefulSet.class), "StatefulSet", unknown, new IdentityHashMap<>());
        assertThat(unknown).hasSize(2).anySatisfy(u -> assertThat(u).contains("readinesProbe"))
                .anySatisfy(u -> assertThat(u).contains("readOnlyRootFileSystem"));
    }

    @Test
    void everyKustomizationNamesFilesThatExist() throws IOException {
        try (Stream<Path> files = Files.walk(K8S)) {
            List<Path> kustomizations = files.filter(p -> p.getFileName().toString().equals("kustomization.yaml")).toList();
            assertThat(kustomizations).hasSize(5);
            for (Path k : kustomizations) {
                JsonNode tree = YAML.readTree(k.toFile());
                assertThat(tree.path("kind").asText()).isEqualTo("Kustomization");
                for (JsonNode resource : tree.path("resources")) {
                    assertThat(k.getParent().resolve(resource.asText())).as(k + " resource").exists();
                }
                for (JsonNode patch : tree.path("patches")) {
                    assertThat(k.getParent().resolve(patch.path("path").asText())).as(k + " patch").exists();
                }
            }
        }
    }

    @Test
    void thePgvigilContainerMatchesTheApplication() throws Exception {
        Properties app = applicationProperties();
        int port = Integer.parseInt(app.getProperty("quarkus.http.port"));
        String metricsPath = app.getProperty("quarkus.micrometer.export.prometheus.path");
        for (PodTemplateSpec pod : pods(manifests(K8S))) {
            Container pgvigil = pgvigil(pod.getSpec());
            ContainerPort metrics = pgvigil.getPorts().stream().filter(p -> "metrics".equals(p.getName())).findFirst()
                    .orElseThrow();
            assertThat(metrics.getContainerPort()).isEqualTo(port);
            assertThat(pgvigil.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
            assertThat(pgvigil.getStartupProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
            // Readiness is Quarkus' readiness group, which pgvigil keeps independent of the database.
            assertThat(pgvigil.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
            assertThat(pgvigil.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("metrics");
            assertThat(pgvigil.getResources().getRequests()).containsKeys("cpu", "memory");
            assertThat(pgvigil.getResources().getLimits()).containsKeys("cpu", "memory");
            assertThat(pgvigil.getEnv()).extracting(EnvVar::getName).contains("JAVA_OPTS_APPEND");
            assertThat(pgvigil.getEnv().stream().filter(e -> e.getName().equals("JAVA_OPTS_APPEND")).findFirst()
                    .orElseThrow().getValue()).contains("-XX:MaxRAMPercentage=", "-Djava.io.tmpdir=/tmp");
        }
        for (PodMonitor monitor : of(manifests(K8S), PodMonitor.class)) {
            monitor.getSpec().getPodMetricsEndpoints().forEach(e -> {
                assertThat(e.getPath()).isEqualTo(metricsPath);
                assertThat(e.getPort()).isEqualTo("metrics");
            });
        }
    }

    @Test
    void theNativeSidecarIsAnInitContainerThatKeepsRunning() throws Exception {
        StatefulSet sts = of(manifests(K8S.resolve("base")), StatefulSet.class).get(0);
        PodSpec spec = sts.getSpec().getTemplate().getSpec();
        Container sidecar = spec.getInitContainers().stream().filter(c -> c.getName().equals("pgvigil")).findFirst()
                .orElseThrow();
        assertThat(sidecar.getRestartPolicy()).isEqualTo("Always");
        assertThat(spec.getContainers()).extracting(Container::getName).containsExactly("postgres");
        assertThat(sts.getSpec().getServiceName()).isEqualTo("postgres");
    }

    @Test
    void theRegularSidecarVariantMovesPgvigilIntoContainers() throws Exception {
        JsonNode base = YAML.readTree(K8S.resolve("base/statefulset.yaml").toFile());
        JsonNode patch = YAML.readTree(K8S.resolve("variants/regular-sidecar/move-pgvigil-to-containers.yaml").toFile());
        JsonNode patched = applyPatch(base.deepCopy(), patch);
        StatefulSet sts = YAML.treeToValue(patched, StatefulSet.class);
        PodSpec spec = sts.getSpec().getTemplate().getSpec();
        assertThat(spec.getInitContainers()).isEmpty();
        assertThat(spec.getContainers()).extracting(Container::getName).containsExactly("postgres", "pgvigil");
        assertThat(spec.getContainers().get(1).getRestartPolicy()).isNull();
        List<String> unknown = new ArrayList<>();
        unknownFields(sts, "StatefulSet", unknown, new IdentityHashMap<>());
        assertThat(unknown).isEmpty();
    }

    @Test
    void thePgBouncerVariantRunsPgBouncerInThePodAndPointsPgvigilAtItsConsole() throws Exception {
        Path variant = K8S.resolve("variants/pgbouncer");
        JsonNode kustomization = YAML.readTree(variant.resolve("kustomization.yaml").toFile());
        Map<String, String> patchByKind = new HashMap<>();
        kustomization.path("patches").forEach(p -> patchByKind.put(p.path("target").path("kind").asText(), p.path("path").asText()));
        assertThat(patchByKind).containsOnlyKeys("StatefulSet", "ConfigMap", "Service", "NetworkPolicy");

        StatefulSet sts = YAML.treeToValue(patched("base/statefulset.yaml", variant.resolve(patchByKind.get("StatefulSet"))),
                StatefulSet.class);
        List<String> unknown = new ArrayList<>();
        unknownFields(sts, "StatefulSet", unknown, new IdentityHashMap<>());
        assertThat(unknown).isEmpty();
        PodSpec spec = sts.getSpec().getTemplate().getSpec();
        assertThat(spec.getContainers()).extracting(Container::getName).containsExactly("postgres", "pgbouncer");
        Container pgbouncer = spec.getContainers().get(1);
        var sc = pgbouncer.getSecurityContext();
        assertThat(sc.getRunAsNonRoot()).isTrue();
        assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
        assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
        assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(pgbouncer.getResources().getLimits()).containsKeys("cpu", "memory");
        int consolePort = pgbouncer.getPorts().stream().filter(p -> p.getName().equals("pgbouncer")).findFirst().orElseThrow()
                .getContainerPort();
        Set<String> volumes = new java.util.HashSet<>();
        spec.getVolumes().forEach(v -> volumes.add(v.getName()));
        pgbouncer.getVolumeMounts().forEach(m -> {
            assertThat(volumes).as("volume of mount " + m.getMountPath()).contains(m.getName());
            assertThat(m.getReadOnly()).as(m.getMountPath()).isTrue();
        });

        // pgvigil's configuration with the patch: valid, pointing at the pod's PgBouncer as a stats user
        // whose password file is in pgvigil's mounted secret.
        ConfigMap cm = YAML.treeToValue(patched("base/pgvigil-configmap.yaml", variant.resolve(patchByKind.get("ConfigMap"))),
                ConfigMap.class);
        PgvigilConfig config = io.pgvigil.testing.TestConfig.builder()
                .withSources(new io.smallrye.config.EnvConfigSource(cm.getData(), 300)).build()
                .getConfigMapping(PgvigilConfig.class);
        assertThat(ConfigCheck.problems(config, true)).allSatisfy(p -> assertThat(p).contains("password-file"));
        var target = io.pgvigil.pgbouncer.PgBouncerTarget.of(config.pgbouncer()).orElseThrow();
        assertThat(target.host()).isEqualTo("localhost");
        assertThat(target.port()).isEqualTo(consolePort);
        String passwordFile = config.pgbouncer().passwordFile().orElseThrow();
        Container pgvigil = pgvigil(spec);
        var secretMount = pgvigil.getVolumeMounts().stream().filter(m -> passwordFile.startsWith(m.getMountPath() + "/"))
                .findFirst().orElseThrow();
        Volume secret = spec.getVolumes().stream().filter(v -> v.getName().equals(secretMount.getName())).findFirst().orElseThrow();
        assertThat(secret.getSecret().getItems()).anySatisfy(i -> assertThat(secretMount.getMountPath() + "/" + i.getPath())
                .isEqualTo(passwordFile));

        // PgBouncer's own configuration: the console port, pgvigil's user among stats_users and not among admins.
        ConfigMap ini = of(manifests(variant), ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().equals("pgbouncer-config")).findFirst().orElseThrow();
        String text = ini.getData().get("pgbouncer.ini");
        assertThat(text).containsPattern("(?m)^listen_port = " + consolePort + "$")
                .containsPattern("(?m)^stats_users = .*\\b" + target.username() + "\\b")
                .doesNotContain("admin_users");

        Service service = YAML.treeToValue(patched("base/service.yaml", variant.resolve(patchByKind.get("Service"))), Service.class);
        assertThat(service.getSpec().getPorts()).anySatisfy(p -> {
            assertThat(p.getPort()).isEqualTo(consolePort);
            assertThat(p.getTargetPort().getStrVal()).isEqualTo("pgbouncer");
        });
        NetworkPolicy policy = YAML.treeToValue(patched("base/networkpolicy.yaml",
                variant.resolve(patchByKind.get("NetworkPolicy"))), NetworkPolicy.class);
        assertThat(policy.getSpec().getIngress()).anySatisfy(r -> {
            assertThat(r.getFrom()).as("PgBouncer from any client, like PostgreSQL").isEmpty();
            assertThat(r.getPorts()).anySatisfy(p -> assertThat(p.getPort().getIntVal()).isEqualTo(consolePort));
        });
    }

    private static JsonNode patched(String base, Path patch) throws IOException {
        return applyPatch(YAML.readTree(K8S.resolve(base).toFile()), YAML.readTree(patch.toFile()));
    }

    @Test
    void servicesAndPodMonitorsSelectThePodsAndTheirPorts() throws Exception {
        for (Path folder : List.of(K8S.resolve("base"), K8S.resolve("overlays/standalone"))) {
            List<Manifest> manifests = manifests(folder);
            PodTemplateSpec pod = pods(manifests).get(0);
            Map<String, String> labels = pod.getMetadata().getLabels();
            List<String> portNames = new ArrayList<>();
            allContainers(pod.getSpec()).forEach(c -> c.getPorts().forEach(p -> portNames.add(p.getName())));
            for (Service service : of(manifests, Service.class)) {
                assertThat(labels).as(folder + " service selector").containsAllEntriesOf(service.getSpec().getSelector());
                assertThat(service.getSpec().getPorts()).anySatisfy(p -> {
                    assertThat(p.getName()).isEqualTo("metrics");
                    assertThat(p.getPort()).isEqualTo(9187);
                });
                service.getSpec().getPorts().forEach(p -> assertThat(portNames).contains(p.getTargetPort().getStrVal()));
            }
        }
        List<PodMonitor> monitors = new ArrayList<>(of(manifests(K8S.resolve("monitoring")), PodMonitor.class));
        assertThat(monitors).hasSize(1);
        Map<String, String> baseLabels = pods(manifests(K8S.resolve("base"))).get(0).getMetadata().getLabels();
        assertThat(baseLabels).containsAllEntriesOf(monitors.get(0).getSpec().getSelector().getMatchLabels());
        PodMonitor standalone = of(manifests(K8S.resolve("overlays/standalone")), PodMonitor.class).get(0);
        assertThat(pods(manifests(K8S.resolve("overlays/standalone"))).get(0).getMetadata().getLabels())
                .containsAllEntriesOf(standalone.getSpec().getSelector().getMatchLabels());
    }

    @Test
    void thePrometheusRuleIsTheOneOfAlerts() throws Exception {
        JsonNode deployed = YAML.readTree(K8S.resolve("monitoring/pgvigil-prometheusrule.yaml").toFile());
        JsonNode alerts = YAML.readTree(Path.of("alerts/kubernetes/pgvigil-prometheusrule.yaml").toFile());
        assertThat(deployed).isEqualTo(alerts);
        // One alert per severity of every check in the catalog, and the five on pgvigil itself.
        int rules = io.pgvigil.core.Catalog.CHECKS.stream().mapToInt(c -> c.severities().size()).sum() + 5;
        assertThat(YAML.treeToValue(deployed, PrometheusRule.class).getSpec().getGroups().get(0).getRules())
                .hasSize(rules);
    }

    @Test
    void noSecretValueIsWrittenInPlainText() throws Exception {
        for (Manifest m : manifests(K8S)) {
            assertThat(m.tree().path("kind").asText()).as(m.file() + ": no Secret manifests").isNotEqualTo("Secret");
        }
        for (PodTemplateSpec pod : pods(manifests(K8S))) {
            for (Container c : allContainers(pod.getSpec())) {
                for (EnvVar e : c.getEnv()) {
                    if (e.getName().matches(".*(PASSWORD|TOKEN|SECRET).*") && !e.getName().endsWith("_FILE")) {
                        assertThat(e.getValue()).as(c.getName() + " env " + e.getName() + " is a literal").isNull();
                    }
                }
            }
        }
        for (ConfigMap cm : of(manifests(K8S), ConfigMap.class)) {
            cm.getData().forEach((key, value) -> {
                if (key.matches(".*(PASSWORD|TOKEN|SECRET).*")) {
                    assertThat(key).as(cm.getMetadata().getName() + " " + key).endsWith("_FILE");
                }
                assertThat(value).as(cm.getMetadata().getName() + " " + key).doesNotContainPattern("(?i)password\\s*=\\s*'[^:]");
            });
        }
        String init = of(manifests(K8S.resolve("base")), ConfigMap.class).stream()
                .filter(cm -> cm.getMetadata().getName().equals("postgres-init")).findFirst().orElseThrow()
                .getData().get("10-pgvigil.sh");
        assertThat(init).contains("$(cat /etc/postgres-secret/pgvigil-password)", "IN ROLE pg_monitor")
                .doesNotContain("SUPERUSER");
    }

    @Test
    void theConfigMapsAreValidPgvigilConfiguration() throws Exception {
        for (ConfigMap cm : of(manifests(K8S), ConfigMap.class)) {
            if (!cm.getMetadata().getName().equals("pgvigil-config")) {
                continue;
            }
            // The same mapping and validator as the service: an annotated limit the ConfigMap breaks fails here.
            PgvigilConfig config = io.pgvigil.testing.TestConfig.builder()
                    .withSources(new io.smallrye.config.EnvConfigSource(cm.getData(), 300)).build()
                    .getConfigMapping(PgvigilConfig.class);
            assertThat(config.target().url()).as("PGVIGIL_TARGET_URL is read").isPresent();
            assertThat(config.target().passwordFile()).contains("/etc/pgvigil/secret/pgvigil-password");
            assertThat(config.target().password()).isEmpty();
            // The password file only exists in the pod.
            assertThat(ConfigCheck.problems(config, true)).allSatisfy(p -> assertThat(p).contains("password-file"));
            for (String key : cm.getData().keySet()) {
                assertThat(key).as("an environment variable pgvigil reads").startsWith("PGVIGIL_");
            }
        }
    }

    @Test
    void thePgvigilContainerRunsRestricted() throws Exception {
        for (PodTemplateSpec pod : pods(manifests(K8S))) {
            Container pgvigil = pgvigil(pod.getSpec());
            var sc = pgvigil.getSecurityContext();
            assertThat(sc.getRunAsNonRoot()).isTrue();
            assertThat(sc.getRunAsUser()).isPositive();
            assertThat(sc.getReadOnlyRootFilesystem()).isTrue();
            assertThat(sc.getAllowPrivilegeEscalation()).isFalse();
            assertThat(sc.getCapabilities().getDrop()).containsExactly("ALL");
            assertThat(sc.getCapabilities().getAdd()).isEmpty();
            assertThat(sc.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            String tmpVolume = pgvigil.getVolumeMounts().stream().filter(v -> v.getMountPath().equals("/tmp"))
                    .findFirst().orElseThrow().getName();
            Volume tmp = pod.getSpec().getVolumes().stream().filter(v -> v.getName().equals(tmpVolume)).findFirst()
                    .orElseThrow();
            assertThat(tmp.getEmptyDir()).as("a writable /tmp").isNotNull();
            pgvigil.getVolumeMounts().stream().filter(v -> !v.getMountPath().equals("/tmp"))
                    .forEach(v -> assertThat(v.getReadOnly()).as(v.getMountPath()).isTrue());
        }
    }

    @Test
    void theNetworkPolicyAdmitsOnlyPrometheusToMetricsAndKeepsPostgresOpen() throws Exception {
        List<Manifest> base = manifests(K8S.resolve("base"));
        NetworkPolicy policy = of(base, NetworkPolicy.class).get(0);
        Map<String, String> labels = pods(base).get(0).getMetadata().getLabels();
        assertThat(labels).containsAllEntriesOf(policy.getSpec().getPodSelector().getMatchLabels());
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress");
        Map<Integer, List<NetworkPolicyIngressRule>> byPort = new HashMap<>();
        for (NetworkPolicyIngressRule rule : policy.getSpec().getIngress()) {
            rule.getPorts().forEach(p -> byPort.computeIfAbsent(p.getPort().getIntVal(), k -> new ArrayList<>()).add(rule));
        }
        assertThat(byPort).containsOnlyKeys(5432, 9187);
        assertThat(byPort.get(5432)).anySatisfy(r -> assertThat(r.getFrom()).as("5432 from any client").isEmpty());
        for (NetworkPolicyIngressRule rule : byPort.get(9187)) {
            assertThat(rule.getFrom()).isNotEmpty().allSatisfy(peer ->
                    assertThat(peer.getPodSelector().getMatchLabels()).containsEntry("app.kubernetes.io/name", "prometheus"));
        }
        NetworkPolicy standalone = of(manifests(K8S.resolve("overlays/standalone")), NetworkPolicy.class).get(0);
        assertThat(standalone.getSpec().getIngress()).allSatisfy(r -> assertThat(r.getFrom()).isNotEmpty());
    }

    @Test
    void theStandaloneOverlayVerifiesTheServerCertificateAgainstAMountedCa() throws Exception {
        List<Manifest> standalone = manifests(K8S.resolve("overlays/standalone"));
        String url = of(standalone, ConfigMap.class).get(0).getData().get("PGVIGIL_TARGET_URL");
        assertThat(url).contains("sslmode=verify-full", "sslrootcert=/etc/pgvigil/ca/ca.crt");
        Deployment d = of(standalone, Deployment.class).get(0);
        Container pgvigil = pgvigil(d.getSpec().getTemplate().getSpec());
        String caVolume = pgvigil.getVolumeMounts().stream().filter(v -> v.getMountPath().equals("/etc/pgvigil/ca"))
                .findFirst().orElseThrow().getName();
        assertThat(d.getSpec().getTemplate().getSpec().getVolumes()).anySatisfy(v -> {
            assertThat(v.getName()).isEqualTo(caVolume);
            assertThat(v.getConfigMap().getName()).isEqualTo("pgvigil-ca");
        });
        assertThat(d.getSpec().getReplicas()).isEqualTo(1);
    }

    // --- helpers ---

    static List<PodTemplateSpec> pods(List<Manifest> manifests) {
        List<PodTemplateSpec> pods = new ArrayList<>();
        of(manifests, StatefulSet.class).forEach(s -> pods.add(s.getSpec().getTemplate()));
        of(manifests, Deployment.class).forEach(d -> pods.add(d.getSpec().getTemplate()));
        return pods;
    }

    static List<Container> allContainers(PodSpec spec) {
        List<Container> all = new ArrayList<>(spec.getInitContainers());
        all.addAll(spec.getContainers());
        return all;
    }

    static Container pgvigil(PodSpec spec) {
        return allContainers(spec).stream().filter(c -> c.getName().equals("pgvigil")).findFirst().orElseThrow();
    }

    /**
     * fabric8 model classes keep fields they do not know in {@code additionalProperties} instead of
     * failing; any entry there is a misspelt or misplaced field.
     */
    static void unknownFields(Object o, String path, List<String> unknown, Map<Object, Boolean> seen) throws Exception {
        if (o == null || seen.put(o, true) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object item : c) {
                unknownFields(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                unknownFields(e.getValue(), path + "." + e.getKey(), unknown, seen);
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method getter : o.getClass().getMethods()) {
            if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getName().equals("getClass")) {
                continue;
            }
            Object value = getter.invoke(o);
            if (getter.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    unknown.add(path + ": " + extra.keySet());
                }
                continue;
            }
            unknownFields(value, path + "." + getter.getName().substring(3), unknown, seen);
        }
    }

    /** RFC 6902 add, move and remove, the operations the variants use. */
    static JsonNode applyPatch(JsonNode doc, JsonNode patch) {
        for (JsonNode op : patch) {
            switch (op.path("op").asText()) {
                case "add" -> {
                    String pointer = op.path("path").asText();
                    assertThat(doc.at(pointer.substring(0, pointer.lastIndexOf('/'))).isMissingNode())
                            .as("patch path " + pointer).isFalse();
                    add(doc, pointer, op.path("value").deepCopy());
                }
                case "move" -> {
                    JsonNode value = doc.at(op.path("from").asText()).deepCopy();
                    remove(doc, op.path("from").asText());
                    add(doc, op.path("path").asText(), value);
                }
                case "remove" -> remove(doc, op.path("path").asText());
                default -> throw new AssertionError("unsupported patch operation " + op);
            }
        }
        return doc;
    }

    private static void remove(JsonNode doc, String pointer) {
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = doc.at(pointer.substring(0, slash));
        String last = pointer.substring(slash + 1);
        assertThat(parent.isMissingNode()).as("patch path " + pointer).isFalse();
        if (parent instanceof ArrayNode array) {
            array.remove(Integer.parseInt(last));
        } else {
            assertThat(((ObjectNode) parent).remove(last)).as("patch path " + pointer).isNotNull();
        }
    }

    private static void add(JsonNode doc, String pointer, JsonNode value) {
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = doc.at(pointer.substring(0, slash));
        String last = pointer.substring(slash + 1);
        if (parent instanceof ArrayNode array) {
            if (last.equals("-")) {
                array.add(value);
            } else {
                array.insert(Integer.parseInt(last), value);
            }
        } else {
            ((ObjectNode) parent).set(last, value);
        }
    }

}
