package io.parley.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.WebSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.signal.libsignal.protocol.InvalidKeyException;
import org.signal.libsignal.protocol.NoSessionException;
import org.signal.libsignal.protocol.UntrustedIdentityException;

/**
 * The client behind {@link ParleyClient}. All state lives on one worker thread (socket events, sends,
 * the store); the application's callbacks run on a second thread, one at a time, and a message is
 * acknowledged to the server only after its callback has returned.
 */
final class DefaultParleyClient implements ParleyClient {
  private static final int MAX_MISMATCH_ROUNDS = 3;
  private static final int MAX_AUTH_FAILURES = 2;
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** The protocol's idempotency key: 8–128 printable ASCII characters. */
  private static final Pattern IDEMPOTENCY_KEY = Pattern.compile("[\\x21-\\x7e]{8,128}");
  /** How long the server recognises an idempotency key (docs/protocol.md). */
  private static final Duration DEDUP_WINDOW = Duration.ofHours(24);
  private static final int RECENTLY_STORED = 1024;
  /** Marks the stand-in for a message of this device's own, made from its ack (never a server field). */
  private static final String OWN_SEND = "parleyOwnSend";

  /**
   * A request that waits for an answer carrying its {@code requestId}; sent again after a reconnect if
   * {@code resend}, failed with {@code not_connected} when the connection is lost otherwise.
   */
  private record Request(ObjectNode frame, CompletableFuture<JsonNode> answer, boolean resend) {}

  /** A send the server has stored, remembered by conversation and key for a repeated caller's key. */
  private record StoredSend(long seq, long at) {}

  private final ParleyClient.Builder settings;
  private final Listener listener;
  private final ScheduledExecutorService worker;
  private final ExecutorService delivery;
  private final Backoff backoff;
  private final SplittableRandom random = new SplittableRandom();
  private final CompletableFuture<Void> started = new CompletableFuture<>();

  // confined to the worker thread
  private DeviceStore store;
  private Directory directory;
  private KeyManager keys;
  private SessionCrypto crypto;
  private Sequencer<JsonNode> sequencer;
  private WebSocket socket;
  private CompletableFuture<?> sendChain = CompletableFuture.completedFuture(null);
  private int generation;
  private boolean welcomed;
  private boolean stopped;
  private boolean refreshToken;
  private boolean reRegister;
  private int authFailures;
  private long reconnectAfterMs = -1;
  private int closeCode;
  private int unansweredPings;
  private ScheduledFuture<?> heartbeat;
  private long requestCounter;
  private final Map<String, CompletableFuture<Long>> sendFutures = new HashMap<>();
  private final Map<String, StoredSend> recentlyStored = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, StoredSend> eldest) {
      return size() > RECENTLY_STORED;
    }
  };
  private final Map<String, Integer> mismatchRounds = new HashMap<>();
  private final Map<String, Request> requests = new LinkedHashMap<>();
  private final List<ObjectNode> waitingFrames = new ArrayList<>();
  private final Set<String> deviceListsChecked = new HashSet<>();

  // the server of settings.servers in use; the directory reads it from its own calls
  private volatile int serverIndex;
  private volatile String accountId;
  private volatile ConnectionState state = ConnectionState.STOPPED;

  DefaultParleyClient(ParleyClient.Builder settings) {
    this.settings = settings;
    this.listener = settings.listener;
    String name = "parley-client-" + settings.device;
    this.worker = Executors.newSingleThreadScheduledExecutor(runnable -> daemon(runnable, name));
    this.delivery = Executors.newSingleThreadExecutor(runnable -> daemon(runnable, name + "-delivery"));
    this.backoff = new Backoff(settings.reconnectBase, settings.reconnectCap, new SplittableRandom());
  }

  private static Thread daemon(Runnable runnable, String name) {
    Thread thread = new Thread(runnable, name);
    thread.setDaemon(true);
    return thread;
  }

  // ---------------------------------------------------------------- public API

  @Override
  public CompletableFuture<Void> start() {
    onWorker(() -> {
      if (store != null || stopped) {
        return;
      }
      try {
        store = settings.storeStorage != null ? DeviceStore.open(settings.storeStorage, settings.storeKey)
            : DeviceStore.open(settings.storeDirectory, settings.storeKey);
        directory = new Directory(settings.httpClient, this::server, settings.tokens, settings.requestTimeout);
        keys = new KeyManager(store, directory, settings.clock, settings.device, settings.oneTimePreKeys,
            settings.signedPreKeyRotation);
        crypto = new SessionCrypto(store);
        sequencer = new Sequencer<>(store::cursor);
        keys.ensureRegistered();
        // a connection can outlive the rotation period: look at the keys daily, not only at welcome
        worker.scheduleAtFixedRate(() -> guarded(() -> {
          if (welcomed) {
            maintainKeys();
          }
        }), 1, 1, TimeUnit.DAYS);
        connect();
      } catch (Directory.Refused refused) {
        fail(refused.status == 401 ? new ParleyClientException.Unauthorized(refused.getMessage(), refused)
            : new ParleyClientException.ServerError(refused.code, "key registration refused: " + refused.getMessage(),
                false, null));
      } catch (ParleyClientException e) {
        fail(e);
      }
    });
    return started.copy();
  }

  private void fail(ParleyClientException e) {
    started.completeExceptionally(e);
    shutdown(e);
  }

  @Override
  public String accountId() {
    return accountId;
  }

  @Override
  public int device() {
    return settings.device;
  }

  @Override
  public ConnectionState connectionState() {
    return state;
  }

  @Override
  public CompletableFuture<Long> send(String conversationId, String text) {
    return send(conversationId, text, "k-" + UUID.randomUUID(), false);
  }

  @Override
  public CompletableFuture<Long> send(String conversationId, String text, String idempotencyKey) {
    if (idempotencyKey == null || !IDEMPOTENCY_KEY.matcher(idempotencyKey).matches()) {
      throw new IllegalArgumentException("an idempotency key is 8-128 printable ASCII characters");
    }
    return send(conversationId, text, idempotencyKey, true);
  }

  private CompletableFuture<Long> send(String conversationId, String text, String key, boolean callersKey) {
    CompletableFuture<Long> result = new CompletableFuture<>();
    onWorker(() -> {
      if (stopped) {
        result.completeExceptionally(new ParleyClientException.Closed());
        return;
      }
      if (accountId == null) {
        result.completeExceptionally(new ParleyClientException.ServerError("not_started",
            "send after start() has completed", false, conversationId));
        return;
      }
      if (callersKey && sameKeyAgain(conversationId, key, result)) {
        return;
      }
      try {
        long sentAt = settings.clock.millis();
        List<ObjectNode> envelopes = sealForAllDevices(conversationId, new Plaintext(text, sentAt).encode());
        ObjectNode frame = sendFrame(conversationId, key, envelopes);
        store.savePending(new DeviceStore.PendingSend(key, conversationId, text, sentAt, Json.write(frame)));
        sendFutures.put(key, result);
        if (store.firstPendingOf(conversationId).filter(first -> first.idempotencyKey().equals(key)).isPresent()) {
          transmit(frame);
        }
      } catch (ParleyClientException e) {
        result.completeExceptionally(e);
      } catch (RuntimeException e) {
        result.completeExceptionally(new ParleyClientException.ServerError("internal", "client failure: " + e,
            false, conversationId));
      }
    });
    return result;
  }

  /**
   * A caller's key seen before: a pending send with it answers for this call too, and so does a send this
   * client saw stored within the server's dedup window. True when {@code result} is taken care of.
   */
  private boolean sameKeyAgain(String conversationId, String key, CompletableFuture<Long> result) {
    Optional<DeviceStore.PendingSend> pending = store.pendingSend(key);
    if (pending.isPresent()) {
      if (!pending.get().conversationId().equals(conversationId)) {
        result.completeExceptionally(new ParleyClientException.ServerError("idempotency_key_in_use",
            "the idempotency key belongs to a pending send to another conversation", false, conversationId));
        return true;
      }
      CompletableFuture<Long> first = sendFutures.get(key);
      if (first == null) {
        sendFutures.put(key, result); // recovered from the store after a restart: no one waits for it yet
      } else {
        first.whenComplete((seq, error) -> {
          if (error != null) {
            result.completeExceptionally(error);
          } else {
            result.complete(seq);
          }
        });
      }
      return true;
    }
    StoredSend stored = recentlyStored.get(conversationId + " " + key);
    if (stored != null && settings.clock.millis() - stored.at() < DEDUP_WINDOW.toMillis()) {
      result.complete(stored.seq());
      return true;
    }
    return false;
  }

  @Override
  public CompletableFuture<Long> createConversation(String conversationId, Collection<String> participants) {
    ObjectNode frame = frame("create").put("conversationId", conversationId);
    ArrayNode members = frame.putArray("participants");
    participants.forEach(members::add);
    return request(frame).thenApply(answer -> {
      long seq = answer.path("seq").asLong();
      onWorker(() -> {
        Set<String> all = new LinkedHashSet<>(participants);
        all.add(accountId);
        if (store.participants(conversationId).isEmpty()) {
          store.saveParticipants(conversationId, List.copyOf(all));
        }
      });
      return seq;
    });
  }

  @Override
  public CompletableFuture<Long> addMember(String conversationId, String user) {
    return request(frame("addMember").put("conversationId", conversationId).put("user", user))
        .thenApply(answer -> answer.path("seq").asLong());
  }

  @Override
  public CompletableFuture<Long> removeMember(String conversationId, String user) {
    return request(frame("removeMember").put("conversationId", conversationId).put("user", user))
        .thenApply(answer -> answer.path("seq").asLong());
  }

  @Override
  public CompletableFuture<List<ConversationSummary>> listConversations() {
    return request(frame("listConversations")).thenApply(answer -> {
      List<ConversationSummary> items = new ArrayList<>();
      answer.path("items").forEach(item -> items.add(
          new ConversationSummary(item.path("conversationId").asText(), item.path("fromSeq").asLong())));
      return List.copyOf(items);
    });
  }

  @Override
  public CompletableFuture<Void> markRead(String conversationId, long seq) {
    return whenConnected(frame("read").put("conversationId", conversationId).put("seq", seq));
  }

  @Override
  public CompletableFuture<List<ReceiptMarkers>> receipts(String conversationId) {
    return request(frame("receipts").put("conversationId", conversationId)).thenApply(answer -> {
      List<ReceiptMarkers> members = new ArrayList<>();
      answer.path("members").forEach(member -> members.add(new ReceiptMarkers(member.path("user").asText(),
          member.path("delivered").asLong(), member.path("read").asLong())));
      return List.copyOf(members);
    });
  }

  @Override
  public CompletableFuture<Void> sendEphemeral(String conversationId, String text) {
    return onWorker(() -> {
      if (accountId == null) {
        throw new ParleyClientException.ServerError("not_started", "sendEphemeral after start() has completed",
            false, conversationId);
      }
      if (!welcomed) {
        throw notConnected(conversationId);
      }
      byte[] plaintext = new Plaintext(text, settings.clock.millis()).encodeEphemeral();
      ObjectNode frame = frame("ephemeral").put("conversationId", conversationId);
      ArrayNode envelopes = frame.putArray("envelopes");
      sealForAllDevices(conversationId, plaintext).forEach(envelopes::add);
      return envelopes.isEmpty() ? null : frame;
    }).thenCompose(frame -> frame == null ? CompletableFuture.completedFuture(null)
        : request(frame, false).thenApply(ok -> null));
  }

  @Override
  public CompletableFuture<Void> typing(String conversationId, boolean active) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    onWorker(() -> {
      // typing is ephemeral: while disconnected there is no one to tell
      if (welcomed) {
        transmit(frame("typing").put("conversationId", conversationId).put("active", active));
      }
      done.complete(null);
    });
    return done;
  }

  @Override
  public CompletableFuture<String> lookup(String handle) {
    return onWorker(() -> {
      try {
        return directoryOrFail().lookup(handle);
      } catch (Directory.Refused refused) {
        throw refusal(refused, null);
      }
    });
  }

  @Override
  public CompletableFuture<List<AgentInfo>> agents() {
    return onWorker(() -> {
      try {
        return directoryOrFail().agents();
      } catch (Directory.Refused refused) {
        throw refusal(refused, null);
      }
    });
  }

  @Override
  public CompletableFuture<Void> trustNewIdentity(String user) {
    return onWorker(() -> {
      store.forgetIdentities(user);
      deviceListsChecked.remove(user);
      return null;
    });
  }

  @Override
  public void close() {
    CompletableFuture<Void> closed = new CompletableFuture<>();
    try {
      worker.execute(() -> {
        shutdown(null);
        closed.complete(null);
      });
      closed.get(10, TimeUnit.SECONDS);
    } catch (Exception alreadyShut) {
      // the worker is gone: nothing left to close
    }
    worker.shutdown();
    delivery.shutdown();
    try {
      delivery.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Drops the connection as a network failure would (for tests of reconnect and resume). */
  void dropConnection() {
    onWorker(() -> {
      if (socket != null) {
        socket.abort();
        connectionLost(generation, 1006);
      }
    });
  }

  // ---------------------------------------------------------------- connection

  private void connect() {
    if (stopped) {
      return;
    }
    int attempt = ++generation;
    setState(ConnectionState.CONNECTING);
    try {
      if (reRegister) {
        keys.register();
        reRegister = false;
      }
      String token = directory.token(refreshToken);
      refreshToken = false;
      settings.httpClient.newWebSocketBuilder()
          .connectTimeout(CONNECT_TIMEOUT)
          .buildAsync(webSocketUri(server()), new SocketListener(attempt))
          .whenComplete((ws, error) -> onWorker(() -> opened(attempt, ws, error, token)));
    } catch (Directory.Refused refused) {
      emitError(refusal(refused, null));
      scheduleReconnect(attempt);
    } catch (RuntimeException e) {
      emitError(e instanceof ParleyClientException pce ? pce
          : new ParleyClientException.ServerError("unreachable", e.getMessage(), true, null));
      scheduleReconnect(attempt);
    }
  }

  private void opened(int attempt, WebSocket ws, Throwable error, String token) {
    if (attempt != generation || stopped) {
      if (ws != null) {
        ws.abort();
      }
      return;
    }
    if (error != null) {
      scheduleReconnect(attempt);
      return;
    }
    socket = ws;
    sendChain = CompletableFuture.completedFuture(null);
    closeCode = 0;
    ObjectNode hello = frame("hello").put("token", token).put("device", settings.device);
    ObjectNode cursors = hello.putObject("cursors");
    store.cursors().forEach(cursors::put);
    write(hello);
  }

  private void welcomed(JsonNode welcome) {
    accountId = welcome.path("user").asText();
    welcomed = true;
    backoff.reset();
    authFailures = 0;
    reconnectAfterMs = -1;
    sequencer.reconnected();
    long serverInterval = welcome.path("heartbeatIntervalMs").asLong(25_000);
    startHeartbeat(settings.heartbeatInterval == null ? serverInterval
        : Math.min(serverInterval, settings.heartbeatInterval.toMillis()));
    setState(ConnectionState.CONNECTED);
    store.pendingSends().stream().map(DeviceStore.PendingSend::conversationId).distinct()
        .forEach(this::transmitFirstPendingOf);
    requests.values().stream().filter(Request::resend).forEach(request -> write(request.frame()));
    waitingFrames.forEach(this::write);
    waitingFrames.clear();
    started.complete(null);
    maintainKeys();
  }

  private void connectionLost(int attempt, int status) {
    if (attempt != generation) {
      return;
    }
    generation++;
    socket = null;
    welcomed = false;
    stopHeartbeat();
    failUnsent(requests.values().stream().filter(request -> !request.resend()).toList());
    if (stopped) {
      return;
    }
    int code = closeCode != 0 ? closeCode : status;
    closeCode = 0;
    switch (code) {
      case 4000 -> shutdown(new ParleyClientException.SessionReplaced());
      case 4004 -> shutdown(new ParleyClientException.ServerError("too_many_devices",
          "the account already has its maximum of devices", false, null));
      case 4003 -> {
        if (++authFailures > MAX_AUTH_FAILURES) {
          ParleyClientException.Unauthorized refused =
              new ParleyClientException.Unauthorized("the server refused the token, also after a refresh", null);
          started.completeExceptionally(refused);
          shutdown(refused);
        } else {
          refreshToken = true;
          scheduleReconnect(generation);
        }
      }
      case 4005 -> {
        reRegister = true;
        scheduleReconnect(generation);
      }
      default -> scheduleReconnect(generation);
    }
  }

  private void scheduleReconnect(int attempt) {
    if (stopped || attempt != generation) {
      return;
    }
    setState(ConnectionState.RECONNECTING);
    serverIndex = (serverIndex + 1) % settings.servers.size();
    long delay = reconnectAfterMs >= 0 ? reconnectAfterMs : backoff.next().toMillis();
    reconnectAfterMs = -1;
    int next = ++generation;
    worker.schedule(() -> guarded(() -> {
      if (next == generation) {
        connect();
      }
    }), delay, TimeUnit.MILLISECONDS);
  }

  private void startHeartbeat(long intervalMs) {
    stopHeartbeat();
    unansweredPings = 0;
    int attempt = generation;
    heartbeat = worker.scheduleAtFixedRate(() -> guarded(() -> beat(attempt)), intervalMs, intervalMs,
        TimeUnit.MILLISECONDS);
  }

  private void beat(int attempt) {
    if (attempt != generation || socket == null) {
      return;
    }
    if (unansweredPings >= 2) {
      socket.abort();
      connectionLost(attempt, 1006);
      return;
    }
    unansweredPings++;
    write(frame("ping").put("nonce", Long.toHexString(random.nextLong())));
  }

  private void stopHeartbeat() {
    if (heartbeat != null) {
      heartbeat.cancel(false);
      heartbeat = null;
    }
  }

  private void shutdown(ParleyClientException reason) {
    if (stopped) {
      return;
    }
    stopped = true;
    generation++;
    stopHeartbeat();
    if (socket != null) {
      socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").exceptionally(e -> null);
      socket.abort();
      socket = null;
    }
    welcomed = false;
    if (reason != null) {
      emitError(reason);
    }
    int pending = store == null ? 0 : store.pendingSends().size();
    if (pending > 0) {
      ParleyClientException.ConnectionLost lost = new ParleyClientException.ConnectionLost(
          reason == null ? "the client was closed" : reason.getMessage(), pending);
      sendFutures.values().forEach(future -> future.completeExceptionally(lost));
      emitError(lost);
    }
    sendFutures.clear();
    requests.values().forEach(request -> request.answer().completeExceptionally(new ParleyClientException.Closed()));
    requests.clear();
    started.completeExceptionally(reason != null ? reason : new ParleyClientException.Closed());
    if (store != null) {
      store.close();
    } else if (settings.storeStorage != null) {
      try {
        settings.storeStorage.close(); // given to the client, which was never started on it
      } catch (RuntimeException ignored) {
        // closing is all that was left to do with it
      }
    }
    setState(ConnectionState.STOPPED);
  }

  // ---------------------------------------------------------------- incoming frames

  private void onFrame(int attempt, String text) {
    if (attempt != generation) {
      return;
    }
    JsonNode frame = Json.readTree(text);
    String conversationId = frame.path("conversationId").asText(null);
    switch (frame.path("type").asText()) {
      case "welcome" -> welcomed(frame);
      case "message", "member" -> sequenced(conversationId, frame.path("seq").asLong(), frame);
      case "fetched" -> release(sequencer.fetched(conversationId, frame.path("fromSeq").asLong(),
          frame.path("toSeq").asLong()));
      case "ack" -> acknowledged(frame);
      case "created", "ok", "conversations", "receipts" -> answered(frame);
      case "receipt" -> {
        Receipt receipt = new Receipt(conversationId, frame.path("user").asText(),
            "read".equals(frame.path("kind").asText()) ? Receipt.Kind.READ : Receipt.Kind.DELIVERED,
            frame.path("seq").asLong());
        toApp(() -> listener.onReceipt(receipt));
      }
      case "typing" -> {
        TypingEvent typing = new TypingEvent(conversationId, frame.path("user").asText(),
            frame.path("device").asInt(), frame.path("active").asBoolean());
        toApp(() -> listener.onTyping(typing));
      }
      case "ephemeral" -> ephemeral(frame);
      case "presence" -> {
        JsonNode lastSeen = frame.path("lastSeen");
        PresenceEvent presence = new PresenceEvent(frame.path("user").asText(), frame.path("online").asBoolean(),
            lastSeen.isNumber() ? lastSeen.asLong() : null);
        toApp(() -> listener.onPresence(presence));
      }
      case "pong" -> unansweredPings = 0;
      case "keysLow" -> replenishKeys();
      case "reconnect" -> reconnectAfterMs = frame.path("retryAfterMs").asLong(0);
      case "close" -> closeCode = frame.path("code").asInt();
      case "error" -> serverError(frame);
      default -> {
        // frames of later protocol versions are ignored, as the protocol asks
      }
    }
  }

  private void sequenced(String conversationId, long seq, JsonNode frame) {
    release(sequencer.offer(conversationId, seq, frame));
  }

  private void release(Sequencer.Released<JsonNode> released) {
    released.gap().ifPresent(gap -> {
      ObjectNode fetch = frame("fetch").put("requestId", "f-" + (++requestCounter))
          .put("conversationId", gap.conversationId()).put("fromSeq", gap.fromSeq()).put("toSeq", gap.toSeq());
      write(fetch);
    });
    released.events().forEach(this::inOrder);
  }

  /** One event of a conversation, in seq order: decrypted here, handed to the app, then acknowledged. */
  private void inOrder(JsonNode frame) {
    String conversationId = frame.path("conversationId").asText();
    long seq = frame.path("seq").asLong();
    if ("member".equals(frame.path("type").asText())) {
      MemberEvent member = memberEvent(frame);
      toApp(() -> listener.onMember(member), conversationId, seq);
      return;
    }
    String fromUser = frame.path("fromUser").asText();
    int fromDevice = frame.path("fromDevice").asInt();
    if (frame.path(OWN_SEND).asBoolean()) {
      store.delivered(conversationId, seq); // known from its ack: the server has it counted as sent already
      return;
    }
    if (fromUser.equals(accountId) && fromDevice == settings.device) {
      delivered(conversationId, seq);
      return;
    }
    DeviceStore.Inbound known = store.inbound(conversationId, seq).orElse(null);
    if (known != null) {
      DecryptedMessage message = decrypted(known);
      toApp(() -> listener.onMessage(message), conversationId, seq);
      return;
    }
    JsonNode envelope = frame.path("envelope");
    if (!envelope.isObject()) {
      ParleyClientException error =
          new ParleyClientException.NotEncryptedForDevice(conversationId, seq, fromUser, fromDevice);
      toApp(() -> listener.onError(error), conversationId, seq);
      return;
    }
    try {
      Plaintext plaintext = Plaintext.decode(open(envelope, fromUser, fromDevice));
      DeviceStore.Inbound inbound = new DeviceStore.Inbound(conversationId, seq, fromUser, fromDevice,
          plaintext.text(), plaintext.sentAt(), frame.path("sentAt").asLong());
      store.saveInbound(inbound);
      DecryptedMessage message = decrypted(inbound);
      toApp(() -> listener.onMessage(message), conversationId, seq);
    } catch (SessionCrypto.OpenFailure | IllegalArgumentException failure) {
      ParleyClientException error = unreadable(failure, conversationId, seq, fromUser, fromDevice, "");
      toApp(() -> listener.onError(error), conversationId, seq);
    }
  }

  /** Decrypted as it comes, outside the seq order; a failure is reported and holds nothing up. */
  private void ephemeral(JsonNode frame) {
    String conversationId = frame.path("conversationId").asText();
    String fromUser = frame.path("from").asText();
    int fromDevice = frame.path("fromDevice").asInt();
    JsonNode envelope = frame.path("envelope");
    try {
      Plaintext plaintext = Plaintext.decodeEphemeral(open(envelope, fromUser, fromDevice));
      EphemeralMessage message = new EphemeralMessage(conversationId, fromUser, fromDevice, plaintext.text());
      toApp(() -> listener.onEphemeral(message));
    } catch (SessionCrypto.OpenFailure | IllegalArgumentException failure) {
      emitError(unreadable(failure, conversationId, 0, fromUser, fromDevice, "ephemeral frame: "));
    }
  }

  /** The decrypted bytes of an envelope; a body that is not base64 is an {@link IllegalArgumentException}. */
  private byte[] open(JsonNode envelope, String fromUser, int fromDevice) throws SessionCrypto.OpenFailure {
    byte[] body = Base64.getDecoder().decode(envelope.path("body").asText());
    return crypto.decrypt(fromUser, fromDevice, envelope.path("type").asInt(), body);
  }

  /**
   * What the app is told about an envelope that could not be opened ({@link SessionCrypto.OpenFailure}) or
   * read ({@link IllegalArgumentException}); {@code seq} is 0 for an ephemeral frame.
   */
  private static ParleyClientException unreadable(Exception failure, String conversationId, long seq,
                                                  String fromUser, int fromDevice, String prefix) {
    if (!(failure instanceof SessionCrypto.OpenFailure openFailure)) {
      return new ParleyClientException.DecryptionFailed(conversationId, seq, fromUser, fromDevice,
          prefix + "malformed envelope or plaintext", failure);
    }
    return switch (openFailure.reason) {
      case UNTRUSTED -> new ParleyClientException.UntrustedIdentity(fromUser, fromDevice, conversationId, failure);
      case DUPLICATE -> new ParleyClientException.Replayed(conversationId, seq, fromUser, failure);
      case INVALID, NO_SESSION -> new ParleyClientException.DecryptionFailed(conversationId, seq, fromUser,
          fromDevice, prefix + (openFailure.reason == SessionCrypto.OpenFailure.Reason.NO_SESSION
              ? "no session with the sender" : "invalid or tampered ciphertext"), failure);
    };
  }

  private static DecryptedMessage decrypted(DeviceStore.Inbound in) {
    return new DecryptedMessage(in.conversationId(), in.seq(), in.fromUser(), in.fromDevice(), in.text(),
        Instant.ofEpochMilli(in.sentAt()), Instant.ofEpochMilli(in.storedAt()));
  }

  private MemberEvent memberEvent(JsonNode frame) {
    String conversationId = frame.path("conversationId").asText();
    String user = frame.path("user").asText();
    MemberEvent.Change change = switch (frame.path("change").asText()) {
      case "created" -> MemberEvent.Change.CREATED;
      case "removed" -> MemberEvent.Change.REMOVED;
      default -> MemberEvent.Change.ADDED;
    };
    Set<String> members = new LinkedHashSet<>(store.participants(conversationId));
    if (change == MemberEvent.Change.CREATED) {
      members.clear();
      frame.path("participants").forEach(p -> members.add(p.asText()));
    } else if (change == MemberEvent.Change.ADDED) {
      members.add(user);
    } else {
      members.remove(user);
    }
    store.saveParticipants(conversationId, List.copyOf(members));
    return new MemberEvent(conversationId, frame.path("seq").asLong(), change, user, frame.path("by").asText(null),
        List.copyOf(members), Instant.ofEpochMilli(frame.path("at").asLong()));
  }

  /** The app has had the event: the cursor moves and the server hears of it. */
  private void delivered(String conversationId, long seq) {
    store.delivered(conversationId, seq);
    if (welcomed) {
      write(frame("deliveryAck").put("conversationId", conversationId).put("seq", seq));
    }
  }

  private void acknowledged(JsonNode ack) {
    String key = ack.path("idempotencyKey").asText();
    DeviceStore.PendingSend pending = store.pendingSend(key).orElse(null);
    if (pending == null) {
      return;
    }
    store.removePending(key);
    mismatchRounds.remove(key);
    transmitFirstPendingOf(pending.conversationId());
    long seq = ack.path("seq").asLong();
    // the server pushes no frame for this device's own message: its seq takes its place in the order here
    release(sequencer.offerOwn(pending.conversationId(), seq, frame("message")
        .put("conversationId", pending.conversationId()).put("seq", seq).put(OWN_SEND, true)));
    recentlyStored.put(pending.conversationId() + " " + key, new StoredSend(seq, settings.clock.millis()));
    SentMessage sent = new SentMessage(pending.conversationId(), key, seq, ack.path("duplicate").asBoolean());
    CompletableFuture<Long> future = sendFutures.remove(key);
    if (future != null) {
      future.complete(seq);
    }
    toApp(() -> listener.onSent(sent));
  }

  private void answered(JsonNode answer) {
    Request request = requests.remove(answer.path("requestId").asText());
    if (request != null) {
      request.answer().complete(answer);
    }
  }

  private void serverError(JsonNode error) {
    String code = error.path("code").asText();
    String key = error.path("idempotencyKey").asText(null);
    String requestId = error.path("requestId").asText(null);
    String conversationId = error.path("conversationId").asText(null);
    boolean retryable = error.path("retryable").asBoolean();
    if (key != null && store.pendingSend(key).isPresent()) {
      if ("device_mismatch".equals(code)) {
        resolveMismatch(key, error);
      } else if ("unknown_recipient".equals(code) && conversationId != null) {
        resolveMembership(key, conversationId);
      } else if (retryable) {
        // rate_limited says when the send can succeed; a little jitter keeps a client's retries apart
        JsonNode retryAfter = error.path("retryAfterMs");
        long delay = retryAfter.isNumber() ? retryAfter.asLong() + random.nextLong(100) : 100 + random.nextLong(900);
        int attempt = generation;
        worker.schedule(() -> guarded(() -> {
          if (attempt == generation && welcomed) {
            store.pendingSend(key).ifPresent(pending -> write((ObjectNode) Json.readTree(pending.frame())));
          }
        }), delay, TimeUnit.MILLISECONDS);
      } else {
        failSend(key, new ParleyClientException.ServerError(code, error.path("message").asText(), false,
            conversationId));
      }
      return;
    }
    if (requestId != null && requests.containsKey(requestId)) {
      requests.remove(requestId).answer().completeExceptionally(
          new ParleyClientException.ServerError(code, error.path("message").asText(), retryable, conversationId));
      return;
    }
    switch (code) {
      case "unknown_device" -> reRegister = true;
      case "token_expired", "token_invalid", "unauthenticated" -> closeCode = 4003;
      default -> emitError(new ParleyClientException.ServerError(code, error.path("message").asText(), retryable,
          conversationId));
    }
  }

  private void failSend(String key, ParleyClientException error) {
    Optional<DeviceStore.PendingSend> failed = store.pendingSend(key);
    store.removePending(key);
    mismatchRounds.remove(key);
    failed.ifPresent(pending -> transmitFirstPendingOf(pending.conversationId()));
    CompletableFuture<Long> future = sendFutures.remove(key);
    if (future != null) {
      future.completeExceptionally(error);
    } else {
      emitError(error);
    }
  }

  // ---------------------------------------------------------------- encryption for recipients

  /** The conversation's participants as this device knows them, and this user (for its other devices). */
  private List<String> recipients(String conversationId) {
    Set<String> users = new LinkedHashSet<>(store.participants(conversationId));
    if (accountId != null) {
      users.add(accountId);
    }
    return List.copyOf(users);
  }

  /** The devices of {@code user} to encrypt for: those with sessions, or the directory's list the first time. */
  private List<Integer> devicesOf(String user, String conversationId) {
    List<Integer> devices = new ArrayList<>(store.getSubDeviceSessions(user));
    if (devices.isEmpty() && deviceListsChecked.add(user)) {
      try {
        for (int device : directory.devices(user)) {
          if (!isSelf(user, device) && ensureSession(user, device, conversationId)) {
            devices.add(device);
          }
        }
      } catch (Directory.Refused refused) {
        deviceListsChecked.remove(user);
        throw refusal(refused, conversationId);
      }
    }
    devices.removeIf(device -> isSelf(user, device));
    return devices;
  }

  private boolean isSelf(String user, int device) {
    return user.equals(accountId) && device == settings.device;
  }

  /** Claims a bundle and sets up a session unless one exists; false when the device has gone. */
  private boolean ensureSession(String user, int device, String conversationId) {
    if (crypto.hasSession(user, device)) {
      return true;
    }
    try {
      crypto.process(user, KeyMaterial.bundle(directory.bundle(user, device)));
      return true;
    } catch (Directory.Refused refused) {
      if (refused.status == 404) {
        return false;
      }
      throw refusal(refused, conversationId);
    } catch (UntrustedIdentityException e) {
      throw new ParleyClientException.UntrustedIdentity(user, device, conversationId, e);
    } catch (InvalidKeyException e) {
      throw new ParleyClientException.ServerError("invalid_keys", "the directory served an invalid bundle", false,
          conversationId);
    }
  }

  /** One envelope for each device of each recipient, this user's other devices included. */
  private List<ObjectNode> sealForAllDevices(String conversationId, byte[] plaintext) {
    List<ObjectNode> envelopes = new ArrayList<>();
    for (String user : recipients(conversationId)) {
      for (int device : devicesOf(user, conversationId)) {
        envelopes.add(seal(user, device, plaintext, conversationId));
      }
    }
    return envelopes;
  }

  private ObjectNode seal(String user, int device, byte[] plaintext, String conversationId) {
    try {
      SessionCrypto.Sealed sealed = crypto.encrypt(user, device, plaintext);
      ObjectNode envelope = Json.object();
      envelope.put("user", user).put("device", device).put("type", sealed.type())
          .put("body", Base64.getEncoder().encodeToString(sealed.body()));
      return envelope;
    } catch (UntrustedIdentityException e) {
      throw new ParleyClientException.UntrustedIdentity(user, device, conversationId, e);
    } catch (NoSessionException e) {
      throw new ParleyClientException.DeviceMismatch(conversationId, List.of(user + ":" + device));
    }
  }

  /** {@code device_mismatch}: sessions for the missing devices, none for the stale, the same key again. */
  private void resolveMismatch(String key, JsonNode error) {
    DeviceStore.PendingSend pending = store.pendingSend(key).orElseThrow();
    String conversationId = pending.conversationId();
    List<String> unresolved = new ArrayList<>();
    error.path("missing").forEach(d -> unresolved.add(d.path("user").asText() + ":" + d.path("device").asInt()));
    error.path("stale").forEach(d -> unresolved.add(d.path("user").asText() + ":" + d.path("device").asInt()));
    if (mismatchRounds.merge(key, 1, Integer::sum) > MAX_MISMATCH_ROUNDS) {
      failSend(key, new ParleyClientException.DeviceMismatch(conversationId, unresolved));
      return;
    }
    try {
      JsonNode frame = Json.readTree(pending.frame());
      Map<String, ObjectNode> envelopes = new LinkedHashMap<>();
      frame.path("envelopes").forEach(e -> envelopes.put(e.path("user").asText() + ":" + e.path("device").asInt(),
          (ObjectNode) e));
      for (JsonNode stale : error.path("stale")) {
        String user = stale.path("user").asText();
        int device = stale.path("device").asInt();
        crypto.deleteSession(user, device);
        envelopes.remove(user + ":" + device);
      }
      Set<String> participants = new LinkedHashSet<>(store.participants(conversationId));
      byte[] plaintext = new Plaintext(pending.text(), pending.sentAt()).encode();
      for (JsonNode missing : error.path("missing")) {
        String user = missing.path("user").asText();
        int device = missing.path("device").asInt();
        if (!user.equals(accountId)) {
          participants.add(user);
        }
        if (ensureSession(user, device, conversationId)) {
          envelopes.put(user + ":" + device, seal(user, device, plaintext, conversationId));
        }
      }
      if (!participants.equals(new LinkedHashSet<>(store.participants(conversationId)))) {
        store.saveParticipants(conversationId, List.copyOf(participants));
      }
      ObjectNode again = sendFrame(conversationId, key, envelopes.values());
      store.savePending(new DeviceStore.PendingSend(key, conversationId, pending.text(), pending.sentAt(),
          Json.write(again)));
      transmit(again);
    } catch (ParleyClientException e) {
      failSend(key, e);
    }
  }

  /**
   * {@code unknown_recipient}: someone this device still counted as a member has left (e.g. a removal this
   * user made, whose member event has not arrived yet). The server's member list replaces the local one, the
   * envelopes for those who left are dropped, and the send goes again with the same key.
   */
  private void resolveMembership(String key, String conversationId) {
    if (mismatchRounds.merge(key, 1, Integer::sum) > MAX_MISMATCH_ROUNDS) {
      failSend(key, new ParleyClientException.ServerError("unknown_recipient",
          "the conversation's members kept changing under the send", false, conversationId));
      return;
    }
    receipts(conversationId).whenComplete((members, failure) -> worker.execute(() -> guarded(() -> {
      Optional<DeviceStore.PendingSend> pending = store.pendingSend(key);
      if (pending.isEmpty()) {
        return;
      }
      if (failure != null) {
        failSend(key, failure instanceof ParleyClientException known ? known
            : new ParleyClientException.ServerError("unknown_recipient", "the members could not be read", false,
                conversationId));
        return;
      }
      Set<String> current = new LinkedHashSet<>();
      members.forEach(member -> current.add(member.user()));
      store.saveParticipants(conversationId, List.copyOf(current));
      List<ObjectNode> kept = new ArrayList<>();
      Json.readTree(pending.get().frame()).path("envelopes").forEach(envelope -> {
        if (current.contains(envelope.path("user").asText())) {
          kept.add((ObjectNode) envelope);
        }
      });
      ObjectNode again = sendFrame(conversationId, key, kept);
      store.savePending(new DeviceStore.PendingSend(key, conversationId, pending.get().text(),
          pending.get().sentAt(), Json.write(again)));
      transmit(again);
    })));
  }

  // ---------------------------------------------------------------- keys

  private void maintainKeys() {
    try {
      directory.status(settings.device).ifPresentOrElse(status -> {
        try {
          keys.maintain(status);
        } catch (Directory.Refused refused) {
          emitError(refusal(refused, null));
        }
      }, () -> reRegister = true);
    } catch (Directory.Refused refused) {
      emitError(refusal(refused, null));
    }
  }

  private void replenishKeys() {
    try {
      keys.replenish();
    } catch (Directory.Refused refused) {
      emitError(refusal(refused, null));
    }
  }

  // ---------------------------------------------------------------- plumbing

  private CompletableFuture<JsonNode> request(ObjectNode frame) {
    return request(frame, true);
  }

  /** {@code resend}: whether the request waits for the next connection, or fails when this one is lost. */
  private CompletableFuture<JsonNode> request(ObjectNode frame, boolean resend) {
    CompletableFuture<JsonNode> answer = new CompletableFuture<>();
    onWorker(() -> {
      if (stopped) {
        answer.completeExceptionally(new ParleyClientException.Closed());
        return;
      }
      if (!resend && !welcomed) {
        answer.completeExceptionally(notConnected(frame.path("conversationId").asText(null)));
        return;
      }
      String requestId = "r-" + (++requestCounter);
      frame.put("requestId", requestId);
      requests.put(requestId, new Request(frame, answer, resend));
      transmit(frame);
      worker.schedule(() -> guarded(() -> {
        Request timedOut = requests.remove(requestId);
        if (timedOut != null) {
          timedOut.answer().completeExceptionally(new ParleyClientException.ServerError("timeout",
              "no answer within " + settings.requestTimeout, true, frame.path("conversationId").asText(null)));
        }
      }), settings.requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    });
    return answer;
  }

  private void failUnsent(List<Request> lost) {
    for (Request request : lost) {
      requests.remove(request.frame().path("requestId").asText());
      request.answer().completeExceptionally(notConnected(request.frame().path("conversationId").asText(null)));
    }
  }

  private static ParleyClientException notConnected(String conversationId) {
    return new ParleyClientException.ServerError("not_connected",
        "not connected: an ephemeral frame is not kept for later", true, conversationId);
  }

  /** A frame sent now if connected, otherwise right after the next welcome. */
  private CompletableFuture<Void> whenConnected(ObjectNode frame) {
    return onWorker(() -> {
      if (welcomed) {
        write(frame);
      } else {
        waitingFrames.add(frame);
      }
      return null;
    });
  }

  /*
   * One send per conversation is on the wire at a time, in the order the app made them. With several in
   * flight, one lost in a shard hand-off (Pekko drops buffered messages rather than reorder them) is
   * retried after a later one was stored, and the conversation would show them swapped.
   */
  private void transmitFirstPendingOf(String conversationId) {
    store.firstPendingOf(conversationId).ifPresent(pending -> transmit((ObjectNode) Json.readTree(pending.frame())));
  }

  /** Sends and requests go out now when connected; otherwise the welcome handler sends them. */
  private void transmit(ObjectNode frame) {
    if (welcomed) {
      write(frame);
    }
  }

  private void write(ObjectNode frame) {
    WebSocket target = socket;
    if (target == null) {
      return;
    }
    String text = Json.write(frame);
    int attempt = generation;
    sendChain = sendChain.handle((ok, error) -> null)
        .thenCompose(ignored -> target.sendText(text, true))
        .whenComplete((ok, error) -> {
          if (error != null) {
            onWorker(() -> {
              if (attempt == generation && socket == target) {
                target.abort();
                connectionLost(attempt, 1006);
              }
            });
          }
        });
  }

  private static ObjectNode frame(String type) {
    return Json.object().put("type", type);
  }

  private static ObjectNode sendFrame(String conversationId, String key, Collection<ObjectNode> envelopes) {
    ObjectNode frame = frame("send").put("conversationId", conversationId).put("idempotencyKey", key);
    ArrayNode array = frame.putArray("envelopes");
    envelopes.forEach(array::add);
    return frame;
  }

  private Directory directoryOrFail() {
    if (directory == null) {
      throw new ParleyClientException.ServerError("not_started", "start the client first", false, null);
    }
    return directory;
  }

  private static ParleyClientException refusal(Directory.Refused refused, String conversationId) {
    if (refused.status == 401) {
      return new ParleyClientException.Unauthorized(refused.getMessage(), refused);
    }
    return new ParleyClientException.ServerError(refused.code, refused.getMessage(), refused.status == 429
        || refused.status >= 500, conversationId);
  }

  private void setState(ConnectionState next) {
    if (state != next) {
      state = next;
      toApp(() -> listener.onConnectionState(next));
    }
  }

  private void emitError(ParleyClientException error) {
    toApp(() -> listener.onError(error));
  }

  /** A callback on the delivery thread; a callback that throws does not stop the client. */
  private void toApp(Runnable callback) {
    try {
      delivery.execute(() -> {
        try {
          callback.run();
        } catch (RuntimeException ignored) {
          // the application's exception is its own; the client goes on
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // the client is closed: no one listens any more
    }
  }

  /** A sequenced callback: once it has returned, the event counts as delivered. */
  private void toApp(Runnable callback, String conversationId, long seq) {
    try {
      delivery.execute(() -> {
        try {
          callback.run();
        } catch (RuntimeException ignored) {
          // the event was handed over; the application's exception does not bring it back
        }
        onWorker(() -> {
          if (!stopped) {
            delivered(conversationId, seq);
          }
        });
      });
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // closed while delivering: the cursor stays, the event comes again after the next start
    }
  }

  private void onWorker(Runnable task) {
    try {
      worker.execute(() -> guarded(task));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // closed
    }
  }

  private <T> CompletableFuture<T> onWorker(java.util.concurrent.Callable<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      worker.execute(() -> {
        try {
          if (stopped) {
            throw new ParleyClientException.Closed();
          }
          result.complete(task.call());
        } catch (ParleyClientException e) {
          result.completeExceptionally(e);
        } catch (Exception e) {
          result.completeExceptionally(new ParleyClientException.ServerError("internal", e.toString(), false, null));
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      result.completeExceptionally(new ParleyClientException.Closed());
    }
    return result;
  }

  private void guarded(Runnable task) {
    try {
      task.run();
    } catch (ParleyClientException e) {
      emitError(e);
    } catch (Exception e) {
      emitError(new ParleyClientException.ServerError("internal", "client failure: " + e, false, null));
    }
  }

  private URI server() {
    return settings.servers.get(serverIndex);
  }

  private static URI webSocketUri(URI server) {
    String scheme = "https".equalsIgnoreCase(server.getScheme()) ? "wss" : "ws";
    return URI.create(scheme + "://" + server.getRawAuthority() + "/v1/ws");
  }

  /** Receives one socket's events and hands them to the worker, tagged with the connection they came on. */
  private final class SocketListener implements WebSocket.Listener {
    private final int attempt;
    private final StringBuilder partial = new StringBuilder();

    SocketListener(int attempt) {
      this.attempt = attempt;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        onWorker(() -> onFrame(attempt, text));
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      onWorker(() -> connectionLost(attempt, statusCode));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      onWorker(() -> connectionLost(attempt, 1006));
    }
  }
}
