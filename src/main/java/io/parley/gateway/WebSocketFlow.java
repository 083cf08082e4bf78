package io.parley.gateway;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSink;

/** Builds the stream of one WebSocket: frames in (with a size limit and backpressure), frames out (bounded). */
final class WebSocketFlow {
  /** How often clients should send a ping frame; the server also pings at the WebSocket level. */
  static final Duration HEARTBEAT = Duration.ofSeconds(25);

  /** One inbound WebSocket message, already read to the end. */
  sealed interface InboundFrame {}

  record Text(String text) implements InboundFrame {}

  enum Binary implements InboundFrame { INSTANCE }

  enum TooLarge implements InboundFrame { INSTANCE }

  private WebSocketFlow() {}

  /**
   * Opens the connection actor of one socket (an upgrade request), handing it the socket's outbound; its
   * queue is attached when {@link #create} materializes.
   */
  static CompletionStage<ActorRef<Connection.Command>> open(ActorSystem<?> system,
      ActorRef<Connections.Command> connections, Outbound outbound) {
    return AskPattern.ask(connections, replyTo -> new Connections.Open(outbound, replyTo), Duration.ofSeconds(5),
        system.scheduler());
  }

  /**
   * The socket's stream, one graph in one interpreter: inbound frames to {@code connection} one at a time,
   * outbound frames from the connection's {@link Outbound}.
   */
  static Flow<Message, Message, NotUsed> create(ActorSystem<?> system, ActorRef<Connection.Command> connection,
                                                Outbound outbound, int maxFrameChars) {
    Source<Message, NotUsed> frames = Source.<Message>queue(outbound.capacity())
        .mapMaterializedValue(queue -> {
          outbound.attach(queue);
          return NotUsed.getInstance();
        });
    Sink<Message, NotUsed> in = Flow.<Message>create()
        .mapAsync(1, message -> read(message, maxFrameChars, system))
        .to(ActorSink.actorRefWithBackpressure(connection, Connection.Inbound::new, Connection.StreamStarted::new,
            Connection.StreamAck.INSTANCE, Connection.StreamEnded.INSTANCE, Connection.StreamFailed::new));
    return Flow.fromSinkAndSourceCoupled(in, frames);
  }

  /** Reads a whole message; text beyond the limit is drained and reported, never buffered. */
  private static CompletionStage<InboundFrame> read(Message message, int maxChars, ActorSystem<?> system) {
    if (message.isText()) {
      TextMessage text = message.asTextMessage();
      if (text.isStrict()) {
        String strict = text.getStrictText();
        return CompletableFuture.completedFuture(strict.length() > maxChars ? TooLarge.INSTANCE : new Text(strict));
      }
      return text.getStreamedText()
          .runFold(new Collector(maxChars), Collector::add, system)
          .thenApply(Collector::result);
    }
    return message.asBinaryMessage().getStreamedData().runWith(Sink.ignore(), system)
        .thenApply(done -> Binary.INSTANCE);
  }

  private static final class Collector {
    private final StringBuilder text = new StringBuilder();
    private final int max;
    private boolean tooLarge;

    Collector(int max) {
      this.max = max;
    }

    Collector add(String chunk) {
      if (!tooLarge) {
        if (text.length() + chunk.length() > max) {
          tooLarge = true;
          text.setLength(0);
        } else {
          text.append(chunk);
        }
      }
      return this;
    }

    InboundFrame result() {
      return tooLarge ? TooLarge.INSTANCE : new Text(text.toString());
    }
  }
}
