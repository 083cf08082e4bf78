package io.parley.admin;

import io.parley.testing.TestKeys;
import java.net.http.HttpResponse;

/** Requests to a node's management port over real HTTP, with or without a bearer token. */
final class OperatorHttp {
  private OperatorHttp() {}

  static HttpResponse<String> get(int port, String path, String token) {
    return send(port, path, "GET", null, token);
  }

  /** {@code form}: an application/x-www-form-urlencoded body, as the cluster routes take their operation. */
  static HttpResponse<String> send(int port, String path, String method, String form, String token) {
    return TestKeys.send(port, token, path, method, form, "application/x-www-form-urlencoded");
  }
}
