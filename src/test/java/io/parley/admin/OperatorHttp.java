package io.parley.admin;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Requests to a node's management port over real HTTP, with or without a bearer token. */
final class OperatorHttp {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private OperatorHttp() {}

  static HttpResponse<String> get(int port, String path, String token) {
    return send(port, path, "GET", null, token);
  }

  /** {@code form}: an application/x-www-form-urlencoded body, as the cluster routes take their operation. */
  static HttpResponse<String> send(int port, String path, String method, String form, String token) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .method(method, form == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(form));
    if (form != null) {
      request.header("Content-Type", "application/x-www-form-urlencoded");
    }
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(method + " " + path, e);
    }
  }
}
