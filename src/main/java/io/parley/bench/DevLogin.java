package io.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * Gets an account and a token per bench user from the node's dev token endpoint (embedded profile), and
 * registers the user's bench device in the key directory.
 */
final class DevLogin {
  /** One logged-in bench user and its bench device's keys. */
  record Account(String accountId, String token, BenchDevice device) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Logins in flight at once: enough to keep a node's HTTP edge and key directory busy, few enough not to time out. */
  static final int CONCURRENT_REQUESTS = 64;

  private final HttpClient http;
  private final URI endpoint;
  private final BenchKeys keys;

  DevLogin(HttpClient http, URI endpoint, BenchKeys keys) {
    this.http = http;
    this.endpoint = endpoint;
    this.keys = keys;
  }

  /** Logs in every handle, a few at a time; the accounts come back in the order of the handles. */
  List<Account> loginAll(List<String> handles) {
    Semaphore permits = new Semaphore(CONCURRENT_REQUESTS);
    List<CompletableFuture<Account>> logins = new ArrayList<>(handles.size());
    for (String handle : handles) {
      permits.acquireUninterruptibly();
      logins.add(login(handle).whenComplete((account, failure) -> permits.release()));
    }
    return logins.stream().map(CompletableFuture::join).toList();
  }

  private CompletableFuture<Account> login(String handle) {
    // key generation (a Kyber key pair and the prekeys) runs beside the requests, on the common pool
    CompletableFuture<BenchDevice> device =
        CompletableFuture.supplyAsync(() -> BenchDevice.generate(BenchKeys.ONE_TIME_PREKEYS));
    HttpRequest request = HttpRequest.newBuilder(endpoint)
        .timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.createObjectNode().put("handle", handle).toString()))
        .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenCombine(device, (response, generated) -> {
      if (response.statusCode() != 200) {
        throw new IllegalStateException("dev token endpoint answered HTTP " + response.statusCode()
            + " (is the node running the embedded profile with dev tokens on?)");
      }
      try {
        JsonNode body = JSON.readTree(response.body());
        return new Account(body.get("accountId").asText(), body.get("token").asText(), generated);
      } catch (Exception e) {
        throw new IllegalStateException("dev token endpoint answered something unexpected", e);
      }
    }).thenCompose(account -> keys.register(account.token(), BenchClient.DEVICE, account.device()).thenApply(done -> account));
  }
}
