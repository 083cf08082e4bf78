package io.parley.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A Parley chat client for one device of one account: end-to-end encrypted (Signal protocol), resumable,
 * ordered. Build one with {@link #builder()}, call {@link #start()}, and receive through the {@link Listener}.
 *
 * <pre>{@code
 * ParleyClient client = ParleyClient.builder()
 *     .server(URI.create("https://chat.example.com"))
 *     .tokens(myTokenSupplier)
 *     .device(1)
 *     .store(Path.of("parley-device-1"), StoreKey.fromEnvironment("PARLEY_STORE_KEY"))
 *     .listener(myListener)
 *     .build();
 * client.start().join();
 * long seq = client.send("c-4f1d", "hello").join();
 * }</pre>
 *
 * Every method is thread-safe and returns at once; futures complete on the client's own threads.
 */
public interface ParleyClient extends AutoCloseable {

  static Builder builder() {
    return new Builder();
  }

  /**
   * Opens the device store, publishes this device's keys if the directory does not have them (a new
   * device), and connects. Completes when the server has welcomed the client for the first time.
   */
  CompletableFuture<Void> start();

  /** The account id, known after {@link #start()} has completed (from the server's welcome). */
  String accountId();

  int device();

  ConnectionState connectionState();

  /**
   * Encrypts {@code text} for every device of every participant (and this user's other devices) and sends
   * it. Completes with the message's seq once the server has stored it. The send is kept in the device
   * store until then and retried with the same idempotency key after reconnects and restarts, so it is
   * stored exactly once.
   */
  CompletableFuture<Long> send(String conversationId, String text);

  /**
   * As {@link #send(String, String)}, with the caller's idempotency key (8–128 printable ASCII characters,
   * {@code !} to {@code ~}; anything else throws {@link IllegalArgumentException}), such as the id of the
   * event the text answers. The text is stored once per key and conversation: a second call with the key of
   * a send still pending completes with that send's seq and sends nothing more (even if its text differs);
   * a call after the send was stored completes with its seq too (the server recognises the key for 24 hours).
   * A key pending for another conversation fails the call with {@code ServerError("idempotency_key_in_use")}.
   */
  CompletableFuture<Long> send(String conversationId, String text, String idempotencyKey);

  /** Creates a conversation with this user and {@code participants} (account ids); completes with its seq (1). */
  CompletableFuture<Long> createConversation(String conversationId, Collection<String> participants);

  CompletableFuture<Long> addMember(String conversationId, String accountId);

  /** Removes a member (this user to leave; the creator may remove anyone); completes with the change's seq. */
  CompletableFuture<Long> removeMember(String conversationId, String accountId);

  CompletableFuture<List<ConversationSummary>> listConversations();

  /** Tells the other participants that this user has read up to {@code seq}. */
  CompletableFuture<Void> markRead(String conversationId, long seq);

  /** The latest delivered/read markers of each member of a conversation. */
  CompletableFuture<List<ReceiptMarkers>> receipts(String conversationId);

  /**
   * Encrypts {@code text} for every device of every participant this device knows of (as {@link #send}
   * does) and hands it to those that are connected now, without storing it or giving it a seq: for
   * streaming partial replies, say, ahead of the message that is stored. Completes when the server has
   * accepted the frame; fails with {@code ServerError}: {@code not_connected} (while disconnected nothing is
   * kept for later), {@code rate_limited}, {@code not_participant}, {@code unknown_conversation}. Devices
   * that are offline never see it, and still decrypt every later message.
   */
  CompletableFuture<Void> sendEphemeral(String conversationId, String text);

  /** Tells the other participants' online devices that this user is (or stopped) typing. */
  CompletableFuture<Void> typing(String conversationId, boolean active);

  /** The account id behind a handle (login name); fails with {@code ServerError("unknown_handle")}. */
  CompletableFuture<String> lookup(String handle);

  /** The agents this user can chat with (start a conversation with an agent's account id). */
  CompletableFuture<List<AgentInfo>> agents();

  /**
   * Accepts a changed identity key of {@code accountId}'s devices (after the user has verified it out of
   * band): forgets the old keys and sessions, so the next message sets up new sessions.
   */
  CompletableFuture<Void> trustNewIdentity(String accountId);

  /** Closes the connection and the device store. Unacknowledged sends stay in the store for the next start. */
  @Override
  void close();

  /** Asks a node's development token endpoint for an account and token (embedded profile only; 404 in production). */
  static CompletableFuture<DevAccount> devLogin(URI server, String handle) {
    return DevLogin.login(HttpClient.newHttpClient(), server, handle);
  }

  /** Settings of a client; {@link #build()} checks that server, tokens, device, store and listener are set. */
  final class Builder {
    List<URI> servers;
    TokenSupplier tokens;
    int device;
    Path storeDirectory;
    VaultStorage storeStorage;
    StoreKey storeKey;
    Listener listener;
    Clock clock = Clock.systemUTC();
    HttpClient httpClient;
    Duration requestTimeout = Duration.ofSeconds(30);
    Duration signedPreKeyRotation = Duration.ofDays(7);
    Duration reconnectBase = Duration.ofMillis(250);
    Duration reconnectCap = Duration.ofSeconds(30);
    int oneTimePreKeys = 100;
    Duration heartbeatInterval;

    Builder() {}

    /** The node's HTTP base address, such as {@code https://chat.example.com}; the WebSocket is {@code /v1/ws} on it. */
    public Builder server(URI server) {
      return servers(List.of(server));
    }

    /**
     * Several addresses of one cluster's nodes: the client starts on the first and moves on to the next one
     * (round robin) each time it reconnects, so a node that is restarting or gone is left behind. Behind a
     * load balancer or a Kubernetes Service one address is enough: it already leads to a live node.
     */
    public Builder servers(List<URI> servers) {
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("at least one server");
      }
      this.servers = List.copyOf(servers);
      return this;
    }

    public Builder tokens(TokenSupplier tokens) {
      this.tokens = Objects.requireNonNull(tokens);
      return this;
    }

    /** This device's number, 1–127, unique within the account. */
    public Builder device(int device) {
      if (device < 1 || device > 127) {
        throw new IllegalArgumentException("device is 1–127, got " + device);
      }
      this.device = device;
      return this;
    }

    /** Where this device's keys, sessions, cursors and pending sends live, encrypted with {@code key}. */
    public Builder store(Path directory, StoreKey key) {
      this.storeDirectory = Objects.requireNonNull(directory);
      this.storeStorage = null;
      this.storeKey = Objects.requireNonNull(key);
      return this;
    }

    /**
     * Keeps the device store in {@code storage} instead of a directory (for a client whose device moves
     * between machines, such as a server-side agent), encrypted with {@code key} before the storage sees it.
     * The storage must not be used by anyone else while the client runs (see {@link VaultStorage}); the
     * client closes it when it closes, or when {@link ParleyClient#start()} fails.
     */
    public Builder store(VaultStorage storage, StoreKey key) {
      this.storeStorage = Objects.requireNonNull(storage);
      this.storeDirectory = null;
      this.storeKey = Objects.requireNonNull(key);
      return this;
    }

    public Builder listener(Listener listener) {
      this.listener = Objects.requireNonNull(listener);
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock);
      return this;
    }

    public Builder httpClient(HttpClient httpClient) {
      this.httpClient = Objects.requireNonNull(httpClient);
      return this;
    }

    /** How long a request (create, fetch, key upload…) may wait for its answer while connected. */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = Objects.requireNonNull(timeout);
      return this;
    }

    /** How often the signed prekey and the last-resort Kyber prekey are replaced (default a week). */
    public Builder signedPreKeyRotation(Duration every) {
      this.signedPreKeyRotation = Objects.requireNonNull(every);
      return this;
    }

    /** Reconnect backoff: full jitter over {@code base · 2^attempt}, capped. */
    public Builder reconnectBackoff(Duration base, Duration cap) {
      this.reconnectBase = Objects.requireNonNull(base);
      this.reconnectCap = Objects.requireNonNull(cap);
      return this;
    }

    /**
     * Ping more often than the server's {@code heartbeatIntervalMs} (the shorter of the two is used), to
     * notice a dead connection sooner: after two unanswered pings the client reconnects.
     */
    public Builder heartbeatInterval(Duration interval) {
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("a positive heartbeat interval");
      }
      this.heartbeatInterval = interval;
      return this;
    }

    /** One-time prekeys to publish at registration and to top up to (at most 100). */
    public Builder oneTimePreKeys(int count) {
      if (count < 1 || count > 100) {
        throw new IllegalArgumentException("1–100 one-time prekeys, got " + count);
      }
      this.oneTimePreKeys = count;
      return this;
    }

    public ParleyClient build() {
      Objects.requireNonNull(servers, "server");
      Objects.requireNonNull(tokens, "tokens");
      if (storeDirectory == null && storeStorage == null) {
        throw new NullPointerException("store");
      }
      Objects.requireNonNull(listener, "listener");
      if (device == 0) {
        throw new IllegalStateException("device not set");
      }
      if (httpClient == null) {
        httpClient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      }
      return new DefaultParleyClient(this);
    }
  }
}
