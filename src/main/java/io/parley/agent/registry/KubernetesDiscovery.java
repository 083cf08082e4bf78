package io.parley.agent.registry;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSettings.RegistrySettings.KubernetesSettings;
import io.parley.agent.AgentSpec;
import io.parley.agent.kms.KeyEncryptionKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Agents discovered from Kubernetes: Services, and Knative Services ({@code serving.knative.dev/v1}), carrying the
 * label {@code parley.io/agent} (its value is the agent id; {@code "true"} takes the object's name). Annotations
 * describe the agent (docs/agents-registry.md):
 * <ul>
 *   <li>{@code parley.io/display-name}, {@code parley.io/description}, {@code parley.io/examples} (one per line),
 *   {@code parley.io/enabled} ({@code "false"} disables);</li>
 *   <li>{@code parley.io/path} (default {@code /}), {@code parley.io/port} (a Service's port number or name; default
 *   its first port), {@code parley.io/scheme} (default {@code http}); a Knative Service is reached at its
 *   {@code status.url};</li>
 *   <li>{@code parley.io/secret-ref: name/key}: the agent's secret, from a Secret in the same namespace.</li>
 * </ul>
 * An object that does not describe a valid agent is skipped with a warning naming the object and what is wrong.
 * When the API server cannot be listed, the last successful result stands, so a flapping API server never removes
 * agents from routing. Blocking; used by the registry singleton only.
 */
public final class KubernetesDiscovery {
  public static final String PREFIX = "parley.io/";
  static final ResourceDefinitionContext KNATIVE_SERVICE = new ResourceDefinitionContext.Builder()
      .withGroup("serving.knative.dev").withVersion("v1").withKind("Service").withPlural("services")
      .withNamespaced(true).build();
  private static final Logger log = LoggerFactory.getLogger(KubernetesDiscovery.class);

  private final KubernetesClient client;
  private final KubernetesSettings settings;
  private final KeyEncryptionKey kek;
  private final AgentAccounts accounts;
  // one sealing per secret value, so an unchanged Secret yields an unchanged snapshot (no new version)
  private final Map<String, Sealed> sealed = new ConcurrentHashMap<>();
  private volatile List<AgentSpec> lastGood = List.of();

  private record Sealed(byte[] digest, String value) {}

  public KubernetesDiscovery(KubernetesClient client, KubernetesSettings settings, KeyEncryptionKey kek,
                             AgentAccounts accounts) {
    this.client = client;
    this.settings = settings;
    this.kek = kek;
    this.accounts = accounts;
  }

  /**
   * A client for the API server the node runs under (its service account), or the kubeconfig outside a cluster;
   * bounded so that a refresh never hangs on it: 5 s to connect, 10 s per request, two retries.
   */
  public static KubernetesClient connect() {
    Config config = new ConfigBuilder(Config.autoConfigure(null))
        .withConnectionTimeout(5_000)
        .withRequestTimeout(10_000)
        .withRequestRetryBackoffLimit(2)
        .build();
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** The agents the cluster describes now, or the last successful result when the API server fails. */
  public List<AgentSpec> discover() {
    try {
      List<AgentSpec> found = new ArrayList<>();
      for (String namespace : namespaces()) {
        for (Service service : client.services().inNamespace(namespace).withLabel(settings.label()).list().getItems()) {
          describe(service, namespace, endpointOf(service, namespace)).ifPresent(found::add);
        }
        if (settings.knative()) {
          for (GenericKubernetesResource ksvc : knativeServices(namespace)) {
            describe(ksvc, namespace, knativeEndpointOf(ksvc, namespace)).ifPresent(found::add);
          }
        }
      }
      lastGood = List.copyOf(found);
      return lastGood;
    } catch (KubernetesClientException e) {
      log.warn("Kubernetes agent discovery failed ({}); keeping the {} agents found before", e.getMessage(),
          lastGood.size());
      return lastGood;
    }
  }

  private List<String> namespaces() {
    if (!settings.namespaces().isEmpty()) {
      return settings.namespaces();
    }
    String own = client.getNamespace();
    return List.of(own == null ? "default" : own);
  }

  private List<GenericKubernetesResource> knativeServices(String namespace) {
    try {
      return client.genericKubernetesResources(KNATIVE_SERVICE).inNamespace(namespace)
          .withLabel(settings.label()).list().getItems();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return List.of(); // Knative is not installed
      }
      throw e;
    }
  }

  private Optional<AgentSpec> describe(HasMetadata object, String namespace, Endpoint endpoint) {
    String name = object.getMetadata().getName();
    String where = object.getKind() + " " + namespace + "/" + name;
    Map<String, String> labels = Optional.ofNullable(object.getMetadata().getLabels()).orElse(Map.of());
    Map<String, String> notes = Optional.ofNullable(object.getMetadata().getAnnotations()).orElse(Map.of());
    String label = labels.getOrDefault(settings.label(), "").strip();
    String id = label.isEmpty() || label.equals("true") ? name : label;
    try {
      String url = endpoint.url().orElseThrow(() -> new InvalidAgentException(endpoint.problem()));
      String secret = secret(namespace, notes.get(PREFIX + "secret-ref"));
      AgentRegistration registration = AgentRegistration.of(id,
          notes.getOrDefault(PREFIX + "display-name", id),
          url,
          notes.getOrDefault(PREFIX + "description", ""),
          Arrays.stream(notes.getOrDefault(PREFIX + "examples", "").split("\n"))
              .map(String::strip).filter(line -> !line.isEmpty()).toList(),
          Optional.of(secret),
          !"false".equalsIgnoreCase(notes.getOrDefault(PREFIX + "enabled", "true").strip()));
      return Optional.of(new AgentSpec(id, registration.displayName(), Optional.of(registration.endpoint()),
          registration.description(), registration.examples(), seal(namespace, id, secret),
          registration.enabled(), AgentSpec.Source.KUBERNETES, accounts.accountIdOf(id)));
    } catch (InvalidAgentException e) {
      log.warn("Skipping {} as an agent: {}", where, e.getMessage());
      return Optional.empty();
    }
  }

  private String secret(String namespace, String ref) {
    if (ref == null || ref.isBlank()) {
      throw new InvalidAgentException("annotation " + PREFIX + "secret-ref (name/key of a Secret) is missing");
    }
    String[] parts = ref.strip().split("/", -1);
    if (parts.length != 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
      throw new InvalidAgentException(PREFIX + "secret-ref must be name/key");
    }
    Secret secret = client.secrets().inNamespace(namespace).withName(parts[0]).get();
    if (secret == null) {
      throw new InvalidAgentException("Secret " + parts[0] + " does not exist");
    }
    String data = Optional.ofNullable(secret.getData()).map(d -> d.get(parts[1])).orElse(null);
    if (data != null) {
      return new String(Base64.getDecoder().decode(data), StandardCharsets.UTF_8).strip();
    }
    String plain = Optional.ofNullable(secret.getStringData()).map(d -> d.get(parts[1])).orElse(null);
    if (plain == null) {
      throw new InvalidAgentException("Secret " + parts[0] + " has no key " + parts[1]);
    }
    return plain.strip();
  }

  private String seal(String namespace, String id, String secret) {
    byte[] digest = sha256(id + "\u0000" + secret);
    return sealed.compute(namespace + "/" + id, (key, before) ->
        before != null && MessageDigest.isEqual(before.digest(), digest)
            ? before : new Sealed(digest, AgentSecrets.seal(kek, id, secret))).value();
  }

  /** Where a Service is reached: its cluster DNS name, the chosen port and path; or why it cannot be. */
  private record Endpoint(Optional<String> url, String problem) {}

  private static Endpoint endpointOf(Service service, String namespace) {
    Map<String, String> notes = Optional.ofNullable(service.getMetadata().getAnnotations()).orElse(Map.of());
    List<ServicePort> ports = service.getSpec() == null || service.getSpec().getPorts() == null
        ? List.of() : service.getSpec().getPorts();
    String wanted = notes.getOrDefault(PREFIX + "port", "").strip();
    Optional<ServicePort> port = wanted.isEmpty()
        ? ports.stream().findFirst()
        : ports.stream().filter(p -> wanted.equals(p.getName()) || wanted.equals(String.valueOf(p.getPort())))
            .findFirst();
    if (port.isEmpty()) {
      return new Endpoint(Optional.empty(), wanted.isEmpty() ? "the Service has no port"
          : "the Service has no port " + wanted);
    }
    String scheme = notes.getOrDefault(PREFIX + "scheme", "http").strip();
    return new Endpoint(Optional.of(scheme + "://" + service.getMetadata().getName() + "." + namespace + ".svc:"
        + port.get().getPort() + path(notes)), "");
  }

  private static Endpoint knativeEndpointOf(GenericKubernetesResource ksvc, String namespace) {
    Map<String, String> notes = Optional.ofNullable(ksvc.getMetadata().getAnnotations()).orElse(Map.of());
    Object url = ksvc.getAdditionalProperties().get("status") instanceof Map<?, ?> status ? status.get("url") : null;
    String base = url instanceof String s && !s.isBlank()
        ? s.strip()
        : "http://" + ksvc.getMetadata().getName() + "." + namespace + ".svc.cluster.local";
    return new Endpoint(Optional.of(stripSlash(base) + path(notes)), "");
  }

  private static String path(Map<String, String> notes) {
    String path = notes.getOrDefault(PREFIX + "path", "/").strip();
    return path.startsWith("/") ? path : "/" + path;
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private static byte[] sha256(String value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
