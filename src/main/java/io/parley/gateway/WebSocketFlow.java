package io.parley.gateway;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameLogger;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.settings.WebSocketSettings;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Graph;
import org.apache.pekko.stream.scaladsl.BidiFlow;
import scala.concurrent.duration.FiniteDuration;

/** Builds the stream of one WebSocket: messages in (with a size limit and backpressure), frames out (bounded). */
final class WebSocketFlow {
  /** How often clients should send a ping frame; the server also pings at the WebSocket level. */
  static final Duration HEARTBEAT = Duration.ofSeconds(25);

  /** How long a closing socket waits for the client's close frame (pekko-http's own default). */
  private static final FiniteDuration CLOSE_TIMEOUT = FiniteDuration.apply(3, TimeUnit.SECONDS);

  /** One inbound WebSocket message, already read to the end. */
  sealed interface InboundFrame {}

  record Text(String text) implements InboundFrame {}

  enum Binary implements InboundFrame { INSTANCE }

  enum TooLarge implements InboundFrame { INSTANCE }

  private WebSocketFlow() {}

  /**
   * Opens the connection actor of one socket (an upgrade request), handing it the socket's outbound, which the
   * socket's stream attaches to when it starts.
   */
  static CompletionStage<ActorRef<Connection.Command>> open(ActorSystem<?> system,
      ActorRef<Connections.Command> connections, Outbound outbound) {
    return AskPattern.ask(connections, replyTo -> new Connections.Open(outbound, replyTo), Duration.ofSeconds(5),
        system.scheduler());
  }

  /**
   * pekko-http's WebSocket layers below its message API (masking, frame logging when configured, frame handling
   * with the close handshake, transport keep-alive pings), built once per node: a blueprint that every socket's
   * stream shares. Parley's {@link SocketStage} takes the place of the message API on top. This reaches into
   * pekko-http's internal API, pinned with its version (ADR 0025).
   */
  static final class Layers {
    @SuppressWarnings("rawtypes")
    private final BidiFlow below;

    @SuppressWarnings({"unchecked", "rawtypes"})
    Layers(ActorSystem<?> system) {
      WebSocketSettings settings = ServerSettings.apply(system.settings().config()).websocketSettings();
      LoggingAdapter log = Logging.getLogger(system.classicSystem(), WebSocketFlow.class);
      // Scala's variance lets these layers stack (a FrameStart is a FrameEvent); Java's generics need raw types
      BidiFlow masking = WebSocket.masking(true, settings.randomFactory());
      BidiFlow frameLog = FrameLogger.logFramesIfEnabled(settings.logFrames());
      BidiFlow handling = WebSocket.frameHandling(true, CLOSE_TIMEOUT, log);
      BidiFlow keepAlive = WebSocket.periodicKeepAlive(settings);
      below = (BidiFlow) masking.atop(frameLog).atop(handling).atop(keepAlive);
    }

    /**
     * One socket's stream: inbound messages to {@code connection} one at a time, the frames of its
     * {@code outbound} to the client; one graph in one interpreter.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    Graph<FlowShape<FrameEvent, FrameEvent>, Object> socket(ActorRef<Connection.Command> connection,
        Outbound outbound, int maxFrameChars) {
      return (Graph) below.join(new SocketStage(connection, outbound, maxFrameChars));
    }
  }
}
