package io.parley.bench;

import java.net.URI;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One client WebSocket on the bench's transport. Text frames received are handed to {@code onText} one at a
 * time, in order (a fragmented frame is collected first); {@link #send} never blocks: frames wait in a
 * bounded queue in front of the socket, and that wait counts in the measured latency.
 */
final class BenchSocket {
  /** Frames that may wait in front of one socket before a send is refused. */
  static final int QUEUE = 16_384;
  private static final long STRICT_TIMEOUT_MILLIS = 10_000;

  private final BoundedSourceQueue<Message> outbound;
  private final CompletionStage<Done> closed;

  private BenchSocket(BoundedSourceQueue<Message> outbound, CompletionStage<Done> closed) {
    this.outbound = outbound;
    this.closed = closed;
  }

  /**
   * Opens socket number {@code index} to {@code uri} (from its source address); completes once the server
   * has answered the upgrade with 101, fails on any other answer.
   */
  static CompletableFuture<BenchSocket> open(BenchTransport transport, URI uri, int index, Consumer<String> onText) {
    Sink<Message, CompletionStage<Done>> in = Flow.<Message>create()
        .filter(Message::isText)
        .mapAsync(1, m -> {
          TextMessage text = m.asTextMessage();
          return text.isStrict()
              ? CompletableFuture.completedFuture(text.getStrictText())
              : text.toStrict(STRICT_TIMEOUT_MILLIS, transport.materializer()).thenApply(s -> s.text());
        })
        .toMat(Sink.foreach(onText::accept), Keep.right());
    Source<Message, BoundedSourceQueue<Message>> out = Source.queue(QUEUE);
    Flow<Message, Message, Pair<CompletionStage<Done>, BoundedSourceQueue<Message>>> flow =
        Flow.fromSinkAndSourceMat(in, out, Keep.both());
    Pair<CompletionStage<org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse>,
        Pair<CompletionStage<Done>, BoundedSourceQueue<Message>>> materialized =
        Http.get(transport.system()).singleWebSocketRequest(WebSocketRequest.create(uri.toString()), flow,
            ConnectionContext.noEncryption(), Optional.empty(), transport.settingsFor(index),
            transport.system().log(), transport.materializer());
    BenchSocket socket = new BenchSocket(materialized.second().second(), materialized.second().first());
    return materialized.first().toCompletableFuture().thenApply(upgrade -> {
      if (!upgrade.response().status().equals(StatusCodes.SWITCHING_PROTOCOLS)) {
        socket.close();
        throw new IllegalStateException("WebSocket upgrade answered HTTP " + upgrade.response().status().intValue());
      }
      return socket;
    });
  }

  /** Queues a text frame; false when the queue is full or the socket closed. */
  boolean send(String text) {
    return outbound.offer(TextMessage.create(text)) == QueueOfferResult.enqueued();
  }

  /** Frames waiting to be written. */
  int backlog() {
    return outbound.size();
  }

  /** Completes when the server closed the socket or it failed. */
  CompletionStage<Done> closed() {
    return closed;
  }

  /** Sends a close frame after what is queued. */
  void close() {
    outbound.complete();
  }
}
