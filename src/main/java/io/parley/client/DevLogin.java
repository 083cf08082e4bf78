package io.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** The development token endpoint, {@code POST /v1/dev/token} (embedded profile only). */
final class DevLogin {
  private DevLogin() {}

  static CompletableFuture<DevAccount> login(HttpClient http, URI server, String handle) {
    HttpRequest request = HttpRequest.newBuilder(server.resolve("/v1/dev/token"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(Json.write(Map.of("handle", handle))))
        .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
      JsonNode body = Json.readTree(response.body());
      if (response.statusCode() != 200) {
        throw new ParleyClientException.ServerError(body.path("error").asText("http_" + response.statusCode()),
            body.path("message").asText("development token endpoint answered " + response.statusCode()),
            false, null);
      }
      return new DevAccount(handle, body.path("accountId").asText(), body.path("token").asText());
    });
  }
}
