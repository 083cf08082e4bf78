package io.parley.agent.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSettings.RegistrySettings.KubernetesSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.kms.LocalKeyFileKek;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery of agents from Services and Knative Services, against the fabric8 mock API server in CRUD mode. */
class KubernetesDiscoveryTest {
  private static final String NS = "agents";
  private static final String SECRET = "weather-shared-secret-0123456789abcdef";
  private static final String KSECRET = "knative-shared-secret-0123456789abcdef";
  private static final AgentAccounts ACCOUNTS =
      new AgentAccounts("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));

  @TempDir Path dir;
  private KubernetesMockServer server;
  private KubernetesClient client;
  private LocalKeyFileKek kek;

  @BeforeEach
  void start() {
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new KubernetesCrudDispatcher(), false);
    server.init();
    // no retries: the test stops the server and wants the failure at once
    client = server.createClient(builder -> builder.editOrNewConfig().withRequestRetryBackoffLimit(0).endConfig());
    kek = LocalKeyFileKek.open(dir.resolve("kek"), true);
  }

  @AfterEach
  void stop() {
    client.close();
    server.destroy();
  }

  @Test
  void servicesAndKnativeServicesWithTheLabelBecomeAgents() {
    secret("weather-secret", "token", SECRET);
    secret("translate-secret", "token", KSECRET);
    service("weather-svc", Map.of("parley.io/agent", "weather", "app", "weather"), Map.of(
        "parley.io/display-name", "Weather",
        "parley.io/description", "Forecasts and current conditions",
        "parley.io/examples", "will it rain tomorrow\n\ntemperature in Oslo\n",
        "parley.io/path", "/events",
        "parley.io/port", "http",
        "parley.io/secret-ref", "weather-secret/token"));
    service("unlabelled", Map.of("app", "other"), Map.of("parley.io/secret-ref", "weather-secret/token"));
    knativeService("translate", Map.of("parley.io/agent", "true"), Map.of(
        "parley.io/display-name", "Translator",
        "parley.io/enabled", "false",
        "parley.io/secret-ref", "translate-secret/token"), "https://translate.agents.example.com");

    Map<String, AgentSpec> agents = discovery(true).discover().stream()
        .collect(Collectors.toMap(AgentSpec::id, Function.identity()));

    assertThat(agents).containsOnlyKeys("weather", "translate");
    AgentSpec weather = agents.get("weather");
    assertThat(weather.displayName()).isEqualTo("Weather");
    assertThat(weather.description()).isEqualTo("Forecasts and current conditions");
    assertThat(weather.examples()).containsExactly("will it rain tomorrow", "temperature in Oslo");
    assertThat(weather.endpoint()).hasValueSatisfying(uri ->
        assertThat(uri.toString()).isEqualTo("http://weather-svc.agents.svc:8080/events"));
    assertThat(weather.source()).isEqualTo(AgentSpec.Source.KUBERNETES);
    assertThat(weather.enabled()).isTrue();
    assertThat(weather.accountId()).isEqualTo(ACCOUNTS.accountIdOf("weather"));
    assertThat(weather.sealedSecret()).doesNotContain(SECRET);
    assertThat(AgentSecrets.open(kek, "weather", weather.sealedSecret())).isEqualTo(SECRET);

    AgentSpec translate = agents.get("translate");
    assertThat(translate.endpoint()).hasValueSatisfying(uri ->
        assertThat(uri.toString()).isEqualTo("https://translate.agents.example.com/"));
    assertThat(translate.enabled()).isFalse();
    assertThat(AgentSecrets.open(kek, "translate", translate.sealedSecret())).isEqualTo(KSECRET);
  }

  @Test
  void invalidObjectsAreSkippedAndTheOthersKept() {
    secret("good", "token", SECRET);
    secret("short", "token", "too-short");
    service("no-secret-ref", Map.of("parley.io/agent", "nosecret"), Map.of());
    service("short-secret", Map.of("parley.io/agent", "shortsecret"), Map.of("parley.io/secret-ref", "short/token"));
    service("missing-key", Map.of("parley.io/agent", "missingkey"), Map.of("parley.io/secret-ref", "good/other"));
    service("bad-id", Map.of("parley.io/agent", "Bad_Id"), Map.of("parley.io/secret-ref", "good/token"));
    service("wrong-port", Map.of("parley.io/agent", "wrongport"),
        Map.of("parley.io/secret-ref", "good/token", "parley.io/port", "9999"));
    service("fine", Map.of("parley.io/agent", "true"), Map.of("parley.io/secret-ref", "good/token"));

    List<AgentSpec> agents = discovery(false).discover();

    assertThat(agents).extracting(AgentSpec::id).containsExactly("fine");
    assertThat(agents.get(0).displayName()).isEqualTo("fine");
    assertThat(agents.get(0).endpoint().orElseThrow().toString()).isEqualTo("http://fine.agents.svc:8080/");
  }

  @Test
  void anUnchangedSecretKeepsItsSealAndAFailingApiServerKeepsTheLastAgents() {
    secret("weather-secret", "token", SECRET);
    service("weather", Map.of("parley.io/agent", "weather"), Map.of("parley.io/secret-ref", "weather-secret/token"));
    KubernetesDiscovery discovery = discovery(false);

    List<AgentSpec> first = discovery.discover();
    List<AgentSpec> second = discovery.discover();
    assertThat(first).hasSize(1);
    // same content, same snapshot hash: a refresh without changes makes no new registry version
    assertThat(second).isEqualTo(first);
    assertThat(SnapshotCodec.contentHash(second)).isEqualTo(SnapshotCodec.contentHash(first));

    server.destroy();
    assertThat(discovery.discover()).isEqualTo(first);
  }

  private KubernetesDiscovery discovery(boolean knative) {
    return new KubernetesDiscovery(client, new KubernetesSettings(true, List.of(NS), "parley.io/agent", knative),
        kek, ACCOUNTS);
  }

  private void secret(String name, String key, String value) {
    client.secrets().inNamespace(NS).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
        .addToData(key, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))).build()).create();
  }

  private void service(String name, Map<String, String> labels, Map<String, String> annotations) {
    client.services().inNamespace(NS).resource(new ServiceBuilder()
        .withNewMetadata().withName(name).withLabels(labels).withAnnotations(annotations).endMetadata()
        .withNewSpec().addNewPort().withName("http").withPort(8080).endPort().endSpec()
        .build()).create();
  }

  private void knativeService(String name, Map<String, String> labels, Map<String, String> annotations, String url) {
    GenericKubernetesResource ksvc = new GenericKubernetesResourceBuilder()
        .withApiVersion("serving.knative.dev/v1").withKind("Service")
        .withNewMetadata().withName(name).withNamespace(NS).withLabels(labels).withAnnotations(annotations)
        .endMetadata()
        .addToAdditionalProperties("status", Map.of("url", url))
        .build();
    client.genericKubernetesResources(KubernetesDiscovery.KNATIVE_SERVICE).inNamespace(NS).resource(ksvc).create();
  }
}
