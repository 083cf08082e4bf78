package io.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.testing.DevAccounts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A device driven by hand for tests that need to craft what goes on the wire: the SDK's store and
 * Signal sessions, but frames written and read raw over its own WebSocket.
 */
final class RawDevice implements AutoCloseable {
  private final DevAccounts.Account account;
  private final int device;
  private final int port;
  final DeviceStore store;
  final SessionCrypto crypto;
  final Directory directory;
  private final LinkedBlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
  private WebSocket socket;

  RawDevice(int port, DevAccounts.Account account, int device, Path dir) throws Exception {
    this.port = port;
    this.account = account;
    this.device = device;
    this.store = DeviceStore.open(dir, TestClients.randomKey());
    HttpClient http = HttpClient.newHttpClient();
    this.directory = new Directory(http, URI.create("http://127.0.0.1:" + port), TokenSupplier.fixed(account.token()),
        Duration.ofSeconds(10));
    this.crypto = new SessionCrypto(store);
    new KeyManager(store, directory, Clock.systemUTC(), device, 20, Duration.ofDays(7)).ensureRegistered();
  }

  void connect() {
    StringBuilder partial = new StringBuilder();
    socket = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create("ws://127.0.0.1:" + port + "/v1/ws"), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
              frames.add(Json.readTree(partial.toString()));
              partial.setLength(0);
            }
            ws.request(1);
            return null;
          }
        }).join();
    ObjectNode hello = Json.object().put("type", "hello").put("token", account.token()).put("device", device);
    hello.putObject("cursors");
    send(hello);
    await(f -> f.path("type").asText().equals("welcome"));
  }

  /** Sets up a session with {@code user}'s {@code toDevice} from the directory. */
  void session(String user, int toDevice) throws Exception {
    crypto.process(user, KeyMaterial.bundle(directory.bundle(user, toDevice)));
  }

  SessionCrypto.Sealed encrypt(String user, int toDevice, String text) throws Exception {
    return crypto.encrypt(user, toDevice, new Plaintext(text, System.currentTimeMillis()).encode());
  }

  /** Sends one envelope to one device; returns the answer (ack or error). */
  JsonNode sendEnvelope(String conversationId, String key, String user, int toDevice, int type, byte[] body) {
    ObjectNode frame = Json.object().put("type", "send").put("conversationId", conversationId)
        .put("idempotencyKey", key);
    frame.putArray("envelopes").addObject().put("user", user).put("device", toDevice).put("type", type)
        .put("body", Base64.getEncoder().encodeToString(body));
    send(frame);
    return await(f -> key.equals(f.path("idempotencyKey").asText()));
  }

  /** Sends an ephemeral frame with one envelope; returns the answer ({@code ok} or error) to {@code requestId}. */
  JsonNode ephemeral(String requestId, String conversationId, String user, int toDevice, int type, byte[] body) {
    ObjectNode frame = Json.object().put("type", "ephemeral").put("requestId", requestId)
        .put("conversationId", conversationId);
    frame.putArray("envelopes").addObject().put("user", user).put("device", toDevice).put("type", type)
        .put("body", Base64.getEncoder().encodeToString(body));
    send(frame);
    return await(f -> requestId.equals(f.path("requestId").asText()));
  }

  void send(ObjectNode frame) {
    socket.sendText(Json.write(frame), true).join();
  }

  JsonNode await(Predicate<JsonNode> test) {
    long deadline = System.nanoTime() + TestClients.WAIT.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        JsonNode frame = frames.poll(100, TimeUnit.MILLISECONDS);
        if (frame != null && test.test(frame)) {
          return frame;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    throw new AssertionError("no matching frame within " + TestClients.WAIT);
  }

  static String utf8(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    if (socket != null) {
      socket.abort();
    }
    store.close();
  }
}
