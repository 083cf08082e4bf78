package io.parley.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Gets accounts and tokens from a node's dev token endpoint over real HTTP. */
public final class DevAccounts {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  public record Account(String handle, String accountId, String token) {}

  private DevAccounts() {}

  public static Account login(int port, String handle) {
    try {
      HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/v1/dev/token"))
          .POST(HttpRequest.BodyPublishers.ofString("{\"handle\":\"" + handle + "\"}"))
          .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException("dev token: HTTP " + response.statusCode() + " " + response.body());
      }
      JsonNode body = JSON.readTree(response.body());
      return new Account(handle, body.get("accountId").asText(), body.get("token").asText());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
