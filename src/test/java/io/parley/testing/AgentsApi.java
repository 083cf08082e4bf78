package io.parley.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The agents' HTTP API as tests use it: the users' agent list, an account's devices, the admin registration. */
public final class AgentsApi {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private AgentsApi() {}

  /** The agent's account id if {@code GET /v1/agents} on the node at {@code port} lists it for {@code token}. */
  public static Optional<String> listed(int port, String token, String agentId) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/v1/agents"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    for (JsonNode agent : JSON.readTree(response.body()).path("agents")) {
      if (agent.path("id").asText().equals(agentId)) {
        return Optional.of(agent.path("accountId").asText());
      }
    }
    return Optional.empty();
  }

  /** Whether the key directory has a device of {@code account}: only then can it be messaged. */
  public static boolean hasDevice(int port, String token, String account) throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/v1/keys/" + account + "/devices"))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    return response.statusCode() == 200 && JSON.readTree(response.body()).path("devices").size() > 0;
  }

  /** Registers (or replaces) an enabled test agent through the admin API of the management port. */
  public static void register(int managementPort, String adminToken, String id, URI endpoint, String secret)
      throws IOException, InterruptedException {
    String body = JSON.writeValueAsString(Map.of(
        "displayName", "Test agent " + id,
        "endpoint", endpoint.toString(),
        "description", "A test agent that echoes what it is sent.",
        "examples", List.of("echo this", "repeat after me"),
        "secret", secret,
        "enabled", true));
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + managementPort + "/v1/admin/agents/" + id))
        .header("Authorization", "Bearer " + adminToken)
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isIn(200, 201);
  }
}
