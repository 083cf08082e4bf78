package io.parley.bench;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One bench device on its own WebSocket: says hello, creates or joins its conversation, sends bench
 * messages to its peer when the driver says so, checks the seq of everything it receives and
 * acknowledges it cumulatively. The JDK calls the listener methods of one socket one at a time.
 *
 * <p>With {@code --encrypt} the messages are real Signal ciphertexts: the conversation's creator claims its
 * peer's bundle and opens a PQXDH session with one PreKey message, the peer answers with a Whisper message,
 * then both encrypt everything they will send before sending starts ({@link #preEncrypt}). A receiver times
 * a delivery by looking the body up among its peer's pre-encrypted messages and keeps it to decrypt after
 * the run ({@link #verifyDecryption}).
 */
final class BenchClient implements WebSocket.Listener {
  static final int DEVICE = 1;
  private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(60);
  /** The message number of the session set-up messages' plaintexts. */
  static final int HANDSHAKE = Integer.MAX_VALUE;

  private final int index;
  private final DevLogin.Account account;
  private final BenchMetrics metrics;
  private final FrameCodec codec;
  private final Payload payload;
  private final int ackEvery;
  private final boolean encrypt;
  private final DeliveryCheck check = new DeliveryCheck();
  private final DecryptionCheck decryption = new DecryptionCheck();
  /** Completes when this device's session with its peer is set up both ways (--encrypt). */
  private final CompletableFuture<Void> sessionReady = new CompletableFuture<>();
  private final CompletableFuture<ServerFrame.Welcome> welcome = new CompletableFuture<>();
  private final Map<String, CompletableFuture<ServerFrame>> requests = new ConcurrentHashMap<>();
  /** Per conversation: the highest seq received and how many frames arrived since it was last acknowledged. */
  private final Map<String, long[]> unacked = new HashMap<>();
  private final StringBuilder partial = new StringBuilder();
  private volatile WebSocket socket;
  private volatile SerialSender sender;
  private volatile boolean closing;
  private volatile BenchConversation conversation;
  private volatile String peer;
  private volatile BenchClient peerClient;
  private volatile boolean initiator;
  private volatile BenchDevice.Sealed handshakeSent;
  private volatile PreEncrypted outgoing;
  /** When each pre-encrypted message was due, for the peer to time its delivery. */
  private volatile AtomicLongArray dueAt;
  private int sends; // driver thread only

  private BenchClient(int index, DevLogin.Account account, BenchMetrics metrics, FrameCodec codec, Payload payload,
                      int ackEvery, boolean encrypt) {
    this.index = index;
    this.account = account;
    this.metrics = metrics;
    this.codec = codec;
    this.payload = payload;
    this.ackEvery = ackEvery;
    this.encrypt = encrypt;
  }

  /** Opens the socket and completes once the server has said welcome. */
  static CompletableFuture<BenchClient> connect(HttpClient http, URI uri, int index, DevLogin.Account account,
                                                BenchMetrics metrics, FrameCodec codec, Payload payload,
                                                int ackEvery, boolean encrypt) {
    BenchClient client = new BenchClient(index, account, metrics, codec, payload, ackEvery, encrypt);
    return http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10)).buildAsync(uri, client)
        .thenCompose(socket -> {
          client.send(new ClientFrame.Hello(account.token(), DEVICE, Map.of()));
          return client.welcome.orTimeout(HELLO_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        })
        .thenApply(welcome -> client);
  }

  String accountId() {
    return account.accountId();
  }

  /** Takes part in {@code conversation}, sending to {@code peer}. */
  void join(BenchConversation conversation, BenchClient peer) {
    this.conversation = conversation;
    this.peerClient = peer;
    this.peer = peer.accountId();
  }

  /** Creates this client's conversation with its peer; completes when the server answered created. */
  CompletableFuture<Void> create() {
    String requestId = "r-" + index;
    CompletableFuture<ServerFrame> answer = new CompletableFuture<>();
    requests.put(requestId, answer);
    send(new ClientFrame.Create(requestId, conversation.id(), List.of(peer)));
    return answer.orTimeout(HELLO_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).thenAccept(frame -> {
      if (!(frame instanceof ServerFrame.Created)) {
        throw new IllegalStateException("create failed: " + ((ServerFrame.Error) frame).code());
      }
    });
  }

  /**
   * Opens the Signal session with the peer as the conversation's creator: claims the peer's bundle from the
   * key directory, runs PQXDH and sends the first message (PreKey). Completes when the peer's answer has
   * been decrypted, so both sides send Whisper messages from then on.
   */
  CompletableFuture<Void> openSession(BenchKeys keys) {
    initiator = true;
    return keys.claim(account.token(), peer).thenAccept(bundle -> {
      try {
        account.device().startSession(peer, bundle);
        sendHandshake();
      } catch (Exception e) {
        throw new IllegalStateException("could not open a session with the peer: " + e.getMessage(), e);
      }
    }).thenCompose(sent -> sessionReady);
  }

  CompletableFuture<Void> sessionReady() {
    return sessionReady;
  }

  /** The set-up message this client sent (a PreKey message from the creator, a Whisper answer from the peer). */
  BenchDevice.Sealed handshakeSent() {
    return handshakeSent;
  }

  /** Encrypts the {@code count} messages this client will send, in send order. Before sending starts. */
  PreEncrypted preEncrypt(int count) throws Exception {
    PreEncrypted sealed = PreEncrypted.encrypt(account.device(), peer, index, count, payload.bytes());
    dueAt = new AtomicLongArray(count);
    outgoing = sealed;
    return sealed;
  }

  /** Decrypts what the peer sent, in arrival order. After the run. */
  DecryptionCheck.Outcome verifyDecryption() {
    return decryption.verify(account.device(), peer, peerClient.index, peerClient.outgoing, payload.bytes());
  }

  /** Sends the next bench message to the peer; it was due at {@code dueNanos}. Driver thread only. */
  void sendMessage(long dueNanos) {
    int number = sends++;
    // the due time rides in the key too, so an ack can be timed without a lookup table
    String key = "k-" + index + "-" + number + "-" + dueNanos;
    Envelope envelope;
    PreEncrypted sealed = outgoing;
    if (sealed != null) {
      dueAt.set(number, dueNanos);
      envelope = new Envelope(peer, DEVICE, sealed.type(number), sealed.body(number));
    } else {
      envelope = new Envelope(peer, DEVICE, Envelope.WHISPER, payload.body(dueNanos, number));
    }
    metrics.sent(dueNanos);
    send(new ClientFrame.Send(conversation.id(), key, List.of(envelope)));
  }

  private void sendHandshake() throws Exception {
    BenchDevice.Sealed sealed = account.device().encrypt(peer, BenchPlaintext.encode(index, HANDSHAKE, payload.bytes()));
    handshakeSent = sealed;
    metrics.sent(0);
    send(new ClientFrame.Send(conversation.id(), "session-" + index + "-0",
        List.of(new Envelope(peer, DEVICE, sealed.type(), Base64.getEncoder().encodeToString(sealed.body())))));
  }

  /** A set-up message from the peer: the creator's PreKey message (answered) or the peer's answer. */
  private void handshakeReceived(ServerFrame.Body envelope) {
    try {
      byte[] plaintext = account.device().decrypt(peer, envelope.type(), Base64.getDecoder().decode(envelope.body()));
      if (BenchPlaintext.number(plaintext) != HANDSHAKE || !BenchPlaintext.isFrom(plaintext, peerClient.index, payload.bytes())) {
        throw new IllegalStateException("the peer's set-up message decrypted to something else");
      }
      if (!initiator) {
        sendHandshake();
      }
      sessionReady.complete(null);
    } catch (Exception e) {
      sessionReady.completeExceptionally(e);
    }
  }

  /** Acknowledges whatever was received and not yet acknowledged. */
  void flushAcks() {
    List<ClientFrame.DeliveryAck> acks;
    synchronized (unacked) {
      acks = unacked.entrySet().stream().filter(e -> e.getValue()[1] > 0)
          .map(e -> {
            e.getValue()[1] = 0;
            return new ClientFrame.DeliveryAck(e.getKey(), e.getValue()[0]);
          })
          .toList();
    }
    acks.forEach(this::send);
  }

  long lastSeq(String conversationId) {
    return check.lastSeq(conversationId);
  }

  DeliveryCheck check() {
    return check;
  }

  int backlog() {
    SerialSender s = sender;
    return s == null ? 0 : s.backlog();
  }

  void close() {
    closing = true;
    WebSocket s = socket;
    if (s != null && !s.isOutputClosed()) {
      s.sendClose(WebSocket.NORMAL_CLOSURE, "bench done").exceptionally(e -> null);
    }
  }

  void abort() {
    WebSocket s = socket;
    if (s != null) {
      s.abort();
    }
  }

  private void send(ClientFrame frame) {
    sender.send(codec.encodeClient(frame));
  }

  // ---- WebSocket.Listener ----

  @Override
  public void onOpen(WebSocket webSocket) {
    this.socket = webSocket;
    this.sender = new SerialSender(webSocket, failure -> {
      if (!closing) {
        metrics.transportFailures.increment();
      }
    });
    webSocket.request(1);
  }

  @Override
  public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    if (last && partial.length() == 0) {
      onFrame(data.toString());
    } else {
      partial.append(data);
      if (last) {
        onFrame(partial.toString());
        partial.setLength(0);
      }
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    if (!closing) {
      metrics.error("socket_closed_" + statusCode);
    }
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    welcome.completeExceptionally(error);
    if (!closing) {
      metrics.transportFailures.increment();
    }
  }

  private void onFrame(String text) {
    ServerFrame frame;
    try {
      frame = codec.decodeServer(text);
    } catch (IllegalArgumentException e) {
      metrics.error("undecodable_frame");
      return;
    }
    if (frame instanceof ServerFrame.Message message) {
      received(message.conversationId(), message.seq());
      if (message.envelope() != null) {
        delivered(message.envelope());
      }
    } else if (frame instanceof ServerFrame.Member member) {
      received(member.conversationId(), member.seq());
    } else if (frame instanceof ServerFrame.Ack ack) {
      metrics.acked(dueNanos(ack.idempotencyKey()), ack.duplicate());
      conversation.acked(ack.seq());
    } else if (frame instanceof ServerFrame.Created created) {
      answer(created.requestId(), created);
    } else if (frame instanceof ServerFrame.Error error) {
      metrics.error(error.code());
      if (error.idempotencyKey() != null) {
        metrics.sendErrors.increment();
      }
      if (error.requestId() != null) {
        answer(error.requestId(), error);
      }
    } else if (frame instanceof ServerFrame.Welcome w) {
      welcome.complete(w);
    } else if (frame instanceof ServerFrame.Close close) {
      metrics.error("close_" + close.code());
    } else if (frame instanceof ServerFrame.Reconnect reconnect) {
      metrics.error("reconnect_" + reconnect.reason());
    }
  }

  private void delivered(ServerFrame.Body envelope) {
    if (!encrypt) {
      metrics.delivered(Payload.dueNanos(envelope.body()));
    } else if (!sessionReady.isDone()) {
      handshakeReceived(envelope);
    } else {
      PreEncrypted sealed = peerClient.outgoing;
      int number = sealed == null ? -1 : sealed.number(envelope.body());
      if (number < 0) {
        metrics.error("unknown_ciphertext");
      } else {
        metrics.delivered(peerClient.dueAt.get(number));
      }
      decryption.received(envelope.type(), envelope.body());
    }
  }

  private void received(String conversationId, long seq) {
    check.observe(conversationId, seq);
    ClientFrame.DeliveryAck ack = null;
    synchronized (unacked) {
      long[] state = unacked.computeIfAbsent(conversationId, id -> new long[2]);
      state[0] = Math.max(state[0], seq);
      if (++state[1] >= ackEvery) {
        state[1] = 0;
        ack = new ClientFrame.DeliveryAck(conversationId, state[0]);
      }
    }
    if (ack != null) {
      send(ack);
    }
  }

  private void answer(String requestId, ServerFrame frame) {
    CompletableFuture<ServerFrame> waiting = requests.remove(requestId);
    if (waiting != null) {
      waiting.complete(frame);
    }
  }

  private static long dueNanos(String idempotencyKey) {
    return Long.parseLong(idempotencyKey.substring(idempotencyKey.lastIndexOf('-') + 1));
  }
}
