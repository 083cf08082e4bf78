package io.parley.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** Lints the chart in helm/parley and checks what it renders. */
class HelmChartTest {

  private static final Path CHART = Path.of("helm", "parley");
  private static final String SECRET = "parley-credentials";

  private static List<Map<String, Object>> rendered;

  @BeforeAll
  static void renderWithDefaults() {
    rendered = render(template().set("existingSecret", SECRET));
  }

  @Test
  void lintPassesForTheChartAsShipped() {
    LintResult result = new Helm(CHART).lint().strict().call();

    assertThat(result.isFailed()).as("lint messages: %s", result.getMessages()).isFalse();
    assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
  }

  @Test
  void lintPassesWithValuesThatNameTheSecret(@TempDir Path dir) throws IOException {
    // the lint command takes no values file: lint a copy of the chart whose values name the Secret
    Path chart = copyChart(dir.resolve("parley"));
    Path values = chart.resolve("values.yaml");
    String original = Files.readString(values);
    String named = original
        .replace("existingSecret: \"\"", "existingSecret: " + SECRET)
        .replace("jwksUrl: \"\"", "jwksUrl: https://login.example.com/.well-known/jwks.json");
    assertThat(named).as("values.yaml still has the lines the copy rewrites").isNotEqualTo(original);
    Files.writeString(values, named);

    LintResult result = new Helm(chart).lint().strict().call();

    assertThat(result.isFailed()).as("lint messages: %s", result.getMessages()).isFalse();
    assertThat(result.getMessages()).noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]"));
  }

  @Test
  void renderingFailsWithoutAnExistingSecret() {
    assertThatThrownBy(() -> template().call())
        .hasMessageContaining("existingSecret is required");
  }

  @Test
  void renderingFailsWhenBootstrapNeedsMoreContactPointsThanReplicas() {
    assertThatThrownBy(() -> template()
            .set("existingSecret", SECRET)
            .set("replicaCount", 1)
            .call())
        .hasMessageContaining("cluster.requiredContactPoints (2) exceeds replicaCount (1)");
  }

  @Test
  void deploymentRunsThreeNodesAndRollsOneAtATime() {
    Map<String, Object> spec = map(only(rendered, "Deployment").get("spec"));

    assertThat(spec.get("replicas")).isEqualTo(3);
    assertThat(at(spec, "strategy", "rollingUpdate")).containsEntry("maxUnavailable", 0).containsEntry("maxSurge", 1);
    Map<String, Object> pod = podSpec(rendered);
    assertThat(pod.get("terminationGracePeriodSeconds")).isEqualTo(45);
    assertThat(pod.get("enableServiceLinks")).isEqualTo(false);
    Map<String, Object> container = container(rendered);
    assertThat(container).doesNotContainKey("lifecycle");
    assertThat(list(container.get("command")))
        .startsWith("java")
        .endsWith("-Dconfig.resource=production.conf", "-jar", "/app/parley.jar", "server");
  }

  @Test
  void probesUseTheManagementPort() {
    Map<String, Object> container = container(rendered);

    assertThat(at(container, "readinessProbe", "httpGet"))
        .containsEntry("path", "/ready").containsEntry("port", "management");
    assertThat(at(container, "livenessProbe", "httpGet"))
        .containsEntry("path", "/alive").containsEntry("port", "management");
    assertThat(list(container.get("ports")))
        .extracting(p -> map(p).get("name") + ":" + map(p).get("containerPort"))
        .containsExactly("http:8080", "management:8558", "remoting:25520", "metrics:9095");
  }

  @Test
  void prometheusFindsTheMetricsPortOfEveryPod() {
    Map<String, Object> env = env(rendered);
    assertThat(env).containsEntry("PARLEY_METRICS_ENABLED", "true").containsEntry("PARLEY_METRICS_PORT", "9095");
    assertThat(env).as("the node's socket limit is the chart's, not pekko-http's 1,024")
        .containsEntry("PARLEY_HTTP_MAX_CONNECTIONS", "100000");
    assertThat(at(only(rendered, "Deployment"), "spec", "template", "metadata", "annotations"))
        .containsEntry("prometheus.io/scrape", "true")
        .containsEntry("prometheus.io/port", "9095")
        .containsEntry("prometheus.io/path", "/metrics");
    assertThat(kinds(rendered)).doesNotContain("ServiceMonitor");

    List<Map<String, Object>> monitored = render(template().set("existingSecret", SECRET)
        .set("metrics.serviceMonitor.enabled", true).set("metrics.serviceMonitor.labels.release", "prometheus"));
    Map<String, Object> monitor = only(monitored, "ServiceMonitor");
    Map<String, Object> metricsService = monitored.stream()
        .filter(d -> "Service".equals(d.get("kind")) && at(d, "metadata").get("name").toString().endsWith("-metrics"))
        .findFirst().orElseThrow();
    assertThat(at(monitor, "metadata", "labels")).containsEntry("release", "prometheus");
    assertThat(at(metricsService, "metadata", "labels"))
        .containsAllEntriesOf(at(monitor, "spec", "selector", "matchLabels"));
    assertThat(at(metricsService, "spec")).containsEntry("clusterIP", "None");
    assertThat(list(at(monitor, "spec").get("endpoints"))).singleElement()
        .satisfies(e -> assertThat(map(e)).containsEntry("port", "metrics").containsEntry("path", "/metrics"));

    List<Map<String, Object>> off = render(template().set("existingSecret", SECRET).set("metrics.enabled", false)
        .set("metrics.serviceMonitor.enabled", true));
    assertThat(kinds(off)).doesNotContain("ServiceMonitor");
    assertThat(list(container(off).get("ports"))).extracting(p -> map(p).get("name")).doesNotContain("metrics");
    assertThat(env(off)).containsEntry("PARLEY_METRICS_ENABLED", "false");
  }

  @Test
  void clusterChangesAreOffUnlessTurnedOn() {
    assertThat(env(rendered)).containsEntry("PARLEY_ADMIN_CLUSTER_CHANGES", "false");
    assertThat(env(render(template().set("existingSecret", SECRET).set("admin.clusterChanges", true))))
        .containsEntry("PARLEY_ADMIN_CLUSTER_CHANGES", "true");
  }

  @Test
  void podReaderRoleIsBoundToThePodsServiceAccount() {
    Map<String, Object> role = only(rendered, "Role");
    Map<String, Object> binding = only(rendered, "RoleBinding");
    String serviceAccount = (String) podSpec(rendered).get("serviceAccountName");

    assertThat((String) at(role, "metadata").get("name")).endsWith("pod-reader");
    assertThat(list(role.get("rules"))).singleElement().satisfies(rule -> {
      assertThat(list(map(rule).get("resources"))).containsExactly("pods");
      assertThat(list(map(rule).get("verbs"))).containsExactlyInAnyOrder("get", "watch", "list");
    });
    assertThat(at(binding, "roleRef").get("name")).isEqualTo(at(role, "metadata").get("name"));
    assertThat(list(binding.get("subjects"))).singleElement()
        .satisfies(s -> assertThat(map(s)).containsEntry("kind", "ServiceAccount").containsEntry("name", serviceAccount));
    assertThat(only(rendered, "ServiceAccount").get("metadata")).extracting(m -> map(m).get("name"))
        .isEqualTo(serviceAccount);
  }

  @Test
  void nodesFormTheClusterThroughKubernetesBootstrap() {
    Map<String, Object> env = env(rendered);
    Map<String, Object> podLabels = at(only(rendered, "Deployment"), "spec", "template", "metadata", "labels");

    assertThat(env.get("PARLEY_CLUSTER_FORMATION")).isEqualTo("kubernetes");
    assertThat(env.get("PARLEY_PROFILE")).isEqualTo("production");
    assertThat(podLabels).containsEntry("app.kubernetes.io/name", "parley");
    assertThat(env.get("PARLEY_SERVICE_NAME")).isEqualTo(podLabels.get("app.kubernetes.io/name"));
    assertThat(env.get("PARLEY_REQUIRED_CONTACT_POINTS")).isEqualTo("2");
    assertThat(env.get("PARLEY_APP_VERSION")).isEqualTo("0.1.0");
    assertThat(env.get("PARLEY_REMOTE_HOST")).isEqualTo(Map.of("fieldRef", Map.of("fieldPath", "status.podIP")));
    assertThat(env.get("PARLEY_MANAGEMENT_HOST")).isEqualTo(Map.of("fieldRef", Map.of("fieldPath", "status.podIP")));
  }

  @Test
  void credentialsComeOnlyFromTheExistingSecret() {
    Map<String, Object> env = env(rendered);

    assertThat(env.get("PARLEY_MONGODB_URI")).isEqualTo(secretRef("mongodb-uri"));
    assertThat(env.get("PARLEY_REDIS_URL")).isEqualTo(secretRef("redis-url"));
    assertThat(env.get("PARLEY_ADMIN_TOKEN")).isEqualTo(secretRef("admin-token"));
    assertThat(env.get("PARLEY_IDENTITY_PEPPER")).isEqualTo(secretRef("identity-pepper"));
    assertThat(env.get("PARLEY_JWT_PUBLIC_KEY")).isEqualTo(secretRef("jwt-public-key"));
    assertThat(env).doesNotContainKey("PARLEY_JWT_JWKS_URL");
    assertThat(kinds(rendered)).doesNotContain("Secret", "ConfigMap");
  }

  @Test
  void secretLookingValuesNeverReachTheManifests() {
    String sentinel = "s3ntinel-not-a-real-secret";
    String manifests = template()
        .set("existingSecret", SECRET)
        .set("mongodb.uri", "mongodb://parley:" + sentinel + "@mongo:27017")
        .set("redis.url", "redis://:" + sentinel + "@redis:6379")
        .set("auth.adminToken", sentinel)
        .set("identity.pepper", sentinel)
        .call();

    assertThat(manifests).doesNotContain(sentinel);
  }

  @Test
  void theAgentsKeyEncryptionKeyIsMountedReadOnlyFromTheExistingSecret() {
    Map<String, Object> env = env(rendered);
    assertThat(env).containsEntry("PARLEY_AGENTS_ENABLED", "true")
        .containsEntry("PARLEY_AGENT_KEK_FILE", "/etc/parley/agent-kek/key")
        .containsEntry("PARLEY_AGENT_DISCOVERY", "false");
    Map<String, Object> mount = list(container(rendered).get("volumeMounts")).stream().map(m -> map(m))
        .filter(m -> "agent-kek".equals(m.get("name"))).findFirst().orElseThrow();
    assertThat(mount).containsEntry("mountPath", "/etc/parley/agent-kek").containsEntry("readOnly", true);
    Map<String, Object> volume = list(podSpec(rendered).get("volumes")).stream().map(v -> map(v))
        .filter(v -> "agent-kek".equals(v.get("name"))).findFirst().orElseThrow();
    assertThat(at(volume, "secret")).containsEntry("secretName", SECRET).containsEntry("defaultMode", 0400);
    assertThat(list(at(volume, "secret").get("items"))).singleElement()
        .satisfies(item -> assertThat(map(item)).containsEntry("key", "agent-kek").containsEntry("path", "key"));

    List<Map<String, Object>> withoutAgents = render(template().set("existingSecret", SECRET)
        .set("agents.enabled", false));
    assertThat(env(withoutAgents)).containsEntry("PARLEY_AGENTS_ENABLED", "false").doesNotContainKey("PARLEY_AGENT_KEK_FILE");
    assertThat(list(podSpec(withoutAgents).get("volumes"))).noneMatch(v -> "agent-kek".equals(map(v).get("name")));
  }

  @Test
  void agentDiscoveryReadsServicesAndSecretsOnlyWhenTurnedOn() {
    assertThat(kinds(rendered).stream().filter("Role"::equals)).hasSize(1);
    List<Map<String, Object>> discovering = render(template().set("existingSecret", SECRET)
        .set("agents.discovery", true));
    assertThat(env(discovering)).containsEntry("PARLEY_AGENT_DISCOVERY", "true");
    Map<String, Object> role = discovering.stream()
        .filter(d -> "Role".equals(d.get("kind")) && ((String) at(d, "metadata").get("name")).endsWith("agent-discovery"))
        .findFirst().orElseThrow();
    assertThat(list(role.get("rules"))).anySatisfy(rule ->
        assertThat(list(map(rule).get("resources"))).containsExactlyInAnyOrder("services", "secrets"));
    assertThat(list(role.get("rules"))).allSatisfy(rule ->
        assertThat(list(map(rule).get("verbs"))).containsExactlyInAnyOrder("get", "list"));
  }

  @Test
  void aJwksUrlReplacesThePublicKeyFromTheSecret() {
    Map<String, Object> env = env(render(template()
        .set("existingSecret", SECRET)
        .set("auth.jwksUrl", "https://login.example.com/.well-known/jwks.json")));

    assertThat(env.get("PARLEY_JWT_JWKS_URL")).isEqualTo("https://login.example.com/.well-known/jwks.json");
    assertThat(env).doesNotContainKey("PARLEY_JWT_PUBLIC_KEY");
  }

  @Test
  void theImageTagIsTheClusterAppVersion() {
    List<Map<String, Object>> docs = render(template().set("existingSecret", SECRET).set("image.tag", "0.2.0"));

    assertThat(container(docs).get("image")).isEqualTo("parley:0.2.0");
    assertThat(env(docs).get("PARLEY_APP_VERSION")).isEqualTo("0.2.0");
  }

  @Test
  void podRunsLockedDown() {
    Map<String, Object> pod = podSpec(rendered);
    Map<String, Object> container = container(rendered);

    assertThat(map(pod.get("securityContext"))).containsEntry("runAsNonRoot", true);
    assertThat(map(container.get("securityContext")))
        .containsEntry("readOnlyRootFilesystem", true)
        .containsEntry("allowPrivilegeEscalation", false);
    assertThat(list(at(container, "securityContext", "capabilities").get("drop"))).containsExactly("ALL");
    // the only writable mount is /tmp; the agents' key is a read-only secret
    assertThat(list(container.get("volumeMounts"))).map(m -> map(m))
        .anySatisfy(m -> assertThat(m).containsEntry("name", "tmp").containsEntry("mountPath", "/tmp"))
        .allSatisfy(m -> assertThat(m.get("name").equals("tmp") || Boolean.TRUE.equals(m.get("readOnly"))).isTrue());
    assertThat(list(pod.get("volumes"))).map(v -> map(v))
        .allSatisfy(v -> assertThat(v.containsKey("emptyDir") || v.containsKey("secret")).isTrue());
    assertThat(at(container, "resources", "limits")).containsKey("memory");
    assertThat(list(at(pod, "affinity", "podAntiAffinity").get("preferredDuringSchedulingIgnoredDuringExecution")))
        .isNotEmpty();
  }

  @Test
  void serviceAndDisruptionBudgetSelectTheNodes() {
    Map<String, Object> selector = at(only(rendered, "Deployment"), "spec", "selector", "matchLabels");
    Map<String, Object> service = only(rendered, "Service");
    Map<String, Object> budget = only(rendered, "PodDisruptionBudget");

    assertThat(at(service, "spec")).containsEntry("type", "ClusterIP").containsEntry("selector", selector);
    assertThat(list(at(service, "spec").get("ports"))).singleElement()
        .satisfies(p -> assertThat(map(p)).containsEntry("port", 8080).containsEntry("targetPort", "http"));
    assertThat(at(budget, "spec")).containsEntry("maxUnavailable", 1);
    assertThat(at(budget, "spec", "selector", "matchLabels")).isEqualTo(selector);
  }

  private static TemplateCommand template() {
    return new Helm(CHART).template().withName("parley").withNamespace("chat");
  }

  private static List<Map<String, Object>> render(TemplateCommand command) {
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : new Yaml().loadAll(command.call())) {
      if (doc != null) {
        docs.add(map(doc));
      }
    }
    return docs;
  }

  private static Path copyChart(Path target) throws IOException {
    try (Stream<Path> files = Files.walk(CHART)) {
      files.forEach(source -> {
        try {
          Files.copy(source, target.resolve(CHART.relativize(source).toString()));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
    return target;
  }

  private static List<String> kinds(List<Map<String, Object>> docs) {
    return docs.stream().map(d -> (String) d.get("kind")).toList();
  }

  private static Map<String, Object> only(List<Map<String, Object>> docs, String kind) {
    List<Map<String, Object>> matching = docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
    assertThat(matching).as("rendered %s objects", kind).hasSize(1);
    return matching.get(0);
  }

  private static Map<String, Object> podSpec(List<Map<String, Object>> docs) {
    return at(only(docs, "Deployment"), "spec", "template", "spec");
  }

  private static Map<String, Object> container(List<Map<String, Object>> docs) {
    List<Object> containers = list(podSpec(docs).get("containers"));
    assertThat(containers).hasSize(1);
    return map(containers.get(0));
  }

  /** The container's environment by name: the literal value, or the valueFrom source. */
  private static Map<String, Object> env(List<Map<String, Object>> docs) {
    Map<String, Object> env = new LinkedHashMap<>();
    for (Object entry : list(container(docs).get("env"))) {
      Map<String, Object> variable = map(entry);
      String name = (String) variable.get("name");
      assertThat(variable.containsKey("value")).as("%s has exactly one of value and valueFrom", name)
          .isNotEqualTo(variable.containsKey("valueFrom"));
      Object source = variable.containsKey("value") ? variable.get("value") : variable.get("valueFrom");
      assertThat(env.put(name, source)).as("%s set twice", name).isNull();
    }
    return env;
  }

  private static Map<String, Object> secretRef(String key) {
    return Map.of("secretKeyRef", Map.of("name", SECRET, "key", key));
  }

  private static Map<String, Object> at(Map<String, Object> root, String... path) {
    Map<String, Object> node = root;
    for (String step : path) {
      node = map(Objects.requireNonNull(node.get(step), () -> "no " + step + " in " + String.join(".", path)));
    }
    return node;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object node) {
    assertThat(node).isInstanceOf(Map.class);
    return (Map<String, Object>) node;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object node) {
    assertThat(node).isInstanceOf(List.class);
    return (List<Object>) node;
  }
}
