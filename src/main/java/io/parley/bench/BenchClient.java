package io.parley.bench;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One bench device on its own WebSocket: says hello, creates or joins its conversation, sends bench
 * messages to the other members when the driver says so (one envelope per other member's device), checks
 * the seq of everything it receives and acknowledges it cumulatively. The socket hands it one frame at a
 * time.
 *
 * <p>With {@code --encrypt} (one-to-one conversations only) the messages are real Signal ciphertexts: the
 * conversation's creator claims its peer's bundle and opens a PQXDH session with one PreKey message, the peer
 * answers with a Whisper message, then both encrypt everything they will send before sending starts
 * ({@link #preEncrypt}). A receiver times a delivery by looking the body up among its peer's pre-encrypted
 * messages and keeps it to decrypt after the run ({@link #verifyDecryption}).
 */
final class BenchClient {
  static final int DEVICE = 1;
  private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(60);
  /** How often a send answered {@code unavailable} is tried in all, and for how long after its first try. */
  private static final int SEND_ATTEMPTS = 6;
  private static final Duration RETRY_WITHIN = Duration.ofSeconds(15);
  /** One timer thread for every client's resends (a thread per delayed task would skew the bench's own CPU). */
  private static final ScheduledExecutorService RETRIES = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "bench-resend");
    thread.setDaemon(true);
    return thread;
  });
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
  /** Sends not yet answered, by idempotency key, with the times each was answered unavailable. */
  private final Map<String, Pending> unanswered = new ConcurrentHashMap<>();
  private volatile BenchSocket socket;
  private volatile boolean closing;
  private volatile BenchConversation conversation;
  /** The other members: their account ids, and for one-to-one the peer. */
  private volatile List<String> others = List.of();
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

  /**
   * Opens socket number {@code index} (from its source address), says hello and completes once the server
   * has said welcome.
   */
  static CompletableFuture<BenchClient> connect(BenchTransport transport, URI uri, int index, DevLogin.Account account,
                                                BenchMetrics metrics, FrameCodec codec, Payload payload,
                                                int ackEvery, boolean encrypt) {
    BenchClient client = new BenchClient(index, account, metrics, codec, payload, ackEvery, encrypt);
    return BenchSocket.open(transport, uri, index, client::onFrame)
        .thenCompose(socket -> {
          client.socket = socket;
          socket.closed().whenComplete((done, failure) -> client.onClosed(failure));
          client.send(new ClientFrame.Hello(account.token(), DEVICE, Map.of()));
          return client.welcome.orTimeout(HELLO_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        })
        .thenApply(welcome -> client);
  }

  String accountId() {
    return account.accountId();
  }

  /** Takes part in {@code conversation}, sending to its other members. */
  void join(BenchConversation conversation) {
    this.conversation = conversation;
    List<String> ids = new ArrayList<>();
    for (BenchClient member : conversation.members()) {
      if (member != this) {
        ids.add(member.accountId());
      }
    }
    this.others = List.copyOf(ids);
    if (conversation.members().size() == 2) {
      List<BenchClient> two = conversation.members();
      this.peerClient = two.get(0) == this ? two.get(1) : two.get(0);
      this.peer = peerClient.accountId();
    }
  }

  /**
   * Asks the server once to create this client's conversation with the other members; completes with the
   * server's answer, {@code created} or an error. A repeated create of the same conversation by the same
   * creator with the same members is answered {@code created} again, so it may be retried.
   */
  CompletableFuture<ServerFrame> create(int attempt) {
    String requestId = "r-" + index + "-" + attempt;
    CompletableFuture<ServerFrame> answer = new CompletableFuture<>();
    requests.put(requestId, answer);
    send(new ClientFrame.Create(requestId, conversation.id(), others));
    return answer.orTimeout(HELLO_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).whenComplete((frame, failure) -> {
      if (frame instanceof ServerFrame.Created created) {
        check.own(created.conversationId(), created.seq());
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
    List<Envelope> envelopes;
    PreEncrypted sealed = outgoing;
    if (sealed != null) {
      dueAt.set(number, dueNanos);
      envelopes = List.of(new Envelope(peer, DEVICE, sealed.type(number), sealed.body(number)));
    } else {
      String body = payload.body(dueNanos, number);
      List<String> to = others;
      Envelope[] each = new Envelope[to.size()];
      for (int i = 0; i < each.length; i++) {
        each[i] = new Envelope(to.get(i), DEVICE, Envelope.WHISPER, body);
      }
      envelopes = List.of(each);
    }
    metrics.sent(dueNanos);
    ClientFrame.Send frame = new ClientFrame.Send(conversation.id(), key, envelopes);
    unanswered.put(key, new Pending(frame, 0, System.nanoTime()));
    send(frame);
  }

  /** A send on its way; {@code unavailable}: how often the node answered it so; {@code firstSent}: nanoTime. */
  private record Pending(ClientFrame.Send frame, int unavailable, long firstSent) {}

  /**
   * Like the SDK, a send answered {@code unavailable} (retryable: the node may have stored it) goes again with
   * the same idempotency key after a jittered backoff (100–200 ms, doubling up to 1.5–3 s), up to
   * {@link #SEND_ATTEMPTS} tries and only within {@link #RETRY_WITHIN} of the first, so that every send is
   * settled well inside the drain; latency still counts from the due time.
   */
  private boolean resend(String key) {
    Pending pending = unanswered.get(key);
    if (pending == null || closing || pending.unavailable() + 1 >= SEND_ATTEMPTS
        || System.nanoTime() - pending.firstSent() > RETRY_WITHIN.toNanos()) {
      return false;
    }
    unanswered.put(key, new Pending(pending.frame(), pending.unavailable() + 1, pending.firstSent()));
    metrics.sendRetries.increment();
    long backoff = Math.min(3_000, 200L << pending.unavailable());
    long jittered = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
    RETRIES.schedule(() -> send(pending.frame()), jittered, TimeUnit.MILLISECONDS);
    return true;
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

  DeliveryCheck check() {
    return check;
  }

  int backlog() {
    BenchSocket s = socket;
    return s == null ? 0 : s.backlog();
  }

  void close() {
    closing = true;
    BenchSocket s = socket;
    if (s != null) {
      s.close();
    }
  }

  private void send(ClientFrame frame) {
    if (!socket.send(codec.encodeClient(frame)) && !closing) {
      metrics.error("client_queue_full");
    }
  }

  private void onClosed(Throwable failure) {
    welcome.completeExceptionally(new IllegalStateException("socket closed before welcome", failure));
    if (!closing) {
      if (failure != null) {
        metrics.transportFailures.increment();
      } else {
        metrics.error("socket_closed");
      }
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
      unanswered.remove(ack.idempotencyKey());
      check.own(ack.conversationId(), ack.seq());
      metrics.acked(dueNanos(ack.idempotencyKey()), ack.duplicate());
      conversation.acked(ack.seq());
    } else if (frame instanceof ServerFrame.Created created) {
      answer(created.requestId(), created);
    } else if (frame instanceof ServerFrame.Error error) {
      metrics.error(error.code());
      String key = error.idempotencyKey();
      if (key != null && !("unavailable".equals(error.code()) && resend(key))) {
        unanswered.remove(key);
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
    check.frame(conversationId, seq);
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
