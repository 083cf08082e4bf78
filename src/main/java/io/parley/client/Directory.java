package io.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The key directory and account REST routes (docs/protocol.md, "Key directory"). Blocking calls, made on
 * the client's worker thread. A refused token is refreshed once; {@code 429} is waited out once.
 */
final class Directory {
  /** A device's published state, as the owner sees it. */
  record Status(int device, int oneTimePreKeys, boolean low) {}

  /** One HTTP answer that was not a success. */
  static final class Refused extends Exception {
    final int status;
    final String code;

    Refused(int status, String code, String message) {
      super(status + " " + code + (message.isEmpty() ? "" : ": " + message));
      this.status = status;
      this.code = code;
    }
  }

  private final HttpClient http;
  private final Supplier<URI> server;
  private final TokenSupplier tokens;
  private final Duration timeout;
  private String token;

  Directory(HttpClient http, URI server, TokenSupplier tokens, Duration timeout) {
    this(http, () -> server, tokens, timeout);
  }

  /** {@code server} is asked for the current node before every call. */
  Directory(HttpClient http, Supplier<URI> server, TokenSupplier tokens, Duration timeout) {
    this.http = http;
    this.server = server;
    this.tokens = tokens;
    this.timeout = timeout;
  }

  /** The current token, asking the supplier the first time or when {@code refresh}. */
  String token(boolean refresh) {
    if (token == null || refresh) {
      token = tokens.token(refresh).join();
    }
    return token;
  }

  Status putDevice(int device, JsonNode keys) throws Refused {
    return status(call("PUT", "/v1/keys/devices/" + device, keys));
  }

  int addPreKeys(int device, JsonNode keys) throws Refused {
    return call("POST", "/v1/keys/devices/" + device + "/prekeys", keys).path("oneTimePreKeys").asInt();
  }

  Optional<Status> status(int device) throws Refused {
    try {
      return Optional.of(status(call("GET", "/v1/keys/devices/" + device, null)));
    } catch (Refused refused) {
      if (refused.status == 404) {
        return Optional.empty();
      }
      throw refused;
    }
  }

  /** The bundle of one device, claiming one of its one-time prekeys. */
  JsonNode bundle(String accountId, int device) throws Refused {
    JsonNode answer = call("GET", "/v1/keys/" + accountId + "/" + device, null);
    return answer.has("devices") ? answer.path("devices").path(0) : answer;
  }

  List<Integer> devices(String accountId) throws Refused {
    try {
      List<Integer> devices = new ArrayList<>();
      call("GET", "/v1/keys/" + accountId + "/devices", null).path("devices").forEach(d -> devices.add(d.asInt()));
      return devices;
    } catch (Refused refused) {
      if (refused.status == 404) {
        return List.of();
      }
      throw refused;
    }
  }

  String lookup(String handle) throws Refused {
    return call("GET", "/v1/accounts/lookup?handle=" + URLEncoder.encode(handle, StandardCharsets.UTF_8), null)
        .path("accountId").asText();
  }

  java.util.List<AgentInfo> agents() throws Refused {
    java.util.List<AgentInfo> agents = new java.util.ArrayList<>();
    for (JsonNode agent : call("GET", "/v1/agents", null).path("agents")) {
      agents.add(new AgentInfo(agent.path("id").asText(), agent.path("displayName").asText(),
          agent.path("description").asText(), agent.path("accountId").asText(), agent.path("frontDoor").asBoolean()));
    }
    return java.util.List.copyOf(agents);
  }

  private static Status status(JsonNode body) {
    return new Status(body.path("device").asInt(), body.path("oneTimePreKeys").asInt(), body.path("low").asBoolean());
  }

  private JsonNode call(String method, String path, JsonNode body) throws Refused {
    boolean refreshed = false;
    boolean waited = false;
    while (true) {
      HttpResponse<String> response = send(method, path, body, token(false));
      int status = response.statusCode();
      if (status >= 200 && status < 300) {
        return Json.readTree(response.body());
      }
      JsonNode error = Json.readTree(response.body());
      String code = error.path("error").asText("http_" + status);
      if (status == 401 && !refreshed) {
        refreshed = true;
        token(true);
      } else if (status == 429 && !waited) {
        waited = true;
        long retryAfter = error.path("retryAfterMs").asLong(
            response.headers().firstValueAsLong("Retry-After").orElse(1) * 1000);
        pause(Math.min(retryAfter, timeout.toMillis()));
      } else {
        throw new Refused(status, code, error.path("message").asText(""));
      }
    }
  }

  private HttpResponse<String> send(String method, String path, JsonNode body, String bearer) {
    HttpRequest.Builder request = HttpRequest.newBuilder(server.get().resolve(path))
        .timeout(timeout)
        .header("Authorization", "Bearer " + bearer);
    if (body == null) {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      request.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)));
    }
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new ParleyClientException.ServerError("unreachable", method + " " + pathOnly(path) + ": " + e, true, null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ParleyClientException.Closed();
    }
  }

  private static String pathOnly(String path) {
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ParleyClientException.Closed();
    }
  }
}
