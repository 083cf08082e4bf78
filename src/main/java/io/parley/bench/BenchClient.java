package io.parley.bench;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.FrameCodec;
import io.parley.protocol.ServerFrame;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One bench device on its own WebSocket: says hello, creates or joins its conversation, sends bench
 * messages to its peer when the driver says so, checks the seq of everything it receives and
 * acknowledges it cumulatively. The JDK calls the listener methods of one socket one at a time.
 */
final class BenchClient implements WebSocket.Listener {
  static final int DEVICE = 1;
  private static final Duration HELLO_TIMEOUT = Duration.ofSeconds(60);

  private final int index;
  private final DevLogin.Account account;
  private final BenchMetrics metrics;
  private final FrameCodec codec;
  private final Payload payload;
  private final int ackEvery;
  private final DeliveryCheck check = new DeliveryCheck();
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
  private int sends; // driver thread only

  private BenchClient(int index, DevLogin.Account account, BenchMetrics metrics, FrameCodec codec, Payload payload,
                      int ackEvery) {
    this.index = index;
    this.account = account;
    this.metrics = metrics;
    this.codec = codec;
    this.payload = payload;
    this.ackEvery = ackEvery;
  }

  /** Opens the socket and completes once the server has said welcome. */
  static CompletableFuture<BenchClient> connect(HttpClient http, URI uri, int index, DevLogin.Account account,
                                                BenchMetrics metrics, FrameCodec codec, Payload payload,
                                                int ackEvery) {
    BenchClient client = new BenchClient(index, account, metrics, codec, payload, ackEvery);
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
  void join(BenchConversation conversation, String peer) {
    this.conversation = conversation;
    this.peer = peer;
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

  /** Sends the next bench message to the peer; it was due at {@code dueNanos}. Driver thread only. */
  void sendMessage(long dueNanos) {
    int number = sends++;
    // the due time rides in the key too, so an ack can be timed without a lookup table
    String key = "k-" + index + "-" + number + "-" + dueNanos;
    Envelope envelope = new Envelope(peer, DEVICE, Envelope.WHISPER, payload.body(dueNanos, number));
    metrics.sent(dueNanos);
    send(new ClientFrame.Send(conversation.id(), key, List.of(envelope)));
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
        metrics.delivered(Payload.dueNanos(message.envelope().body()));
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
