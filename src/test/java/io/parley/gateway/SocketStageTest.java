package io.parley.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameEventParser;
import org.apache.pekko.http.impl.engine.ws.FrameStart;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Close$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Continuation$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Ping$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Pong$;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Text$;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * One socket's stream at the frame level: client frames (masked, as a browser sends them) into pekko-http's
 * layers and {@link SocketStage}, a probe in the connection's place, the frames the server writes read back.
 * What the stage owes the frame handling below it: messages one at a time, control frames answered while the
 * connection is busy, queued frames before the close, the close handshake's timeout, and a close when the
 * connection stops.
 */
class SocketStageTest {
  private static final ActorTestKit TEST_KIT = ActorTestKit.create();
  private static final WebSocketFlow.Layers LAYERS = new WebSocketFlow.Layers(TEST_KIT.system());
  private static final int MASK = 0x1a2b3c4d;
  private static final Duration WAIT = Duration.ofSeconds(10);

  private TestProbe<Connection.Command> connection;
  private Outbound outbound;
  private SourceQueueWithComplete<FrameEvent> client;
  private SinkQueueWithCancel<FrameEvent> server;

  @AfterAll
  static void stop() {
    TEST_KIT.shutdownTestKit();
  }

  @BeforeEach
  void open() {
    connection = TEST_KIT.createTestProbe(Connection.Command.class);
    outbound = new Outbound(8);
    Pair<SourceQueueWithComplete<FrameEvent>, SinkQueueWithCancel<FrameEvent>> socket =
        Source.<FrameEvent>queue(16, OverflowStrategy.backpressure())
            .via(Flow.fromGraph(LAYERS.socket(connection.ref(), outbound, 100)))
            .toMat(Sink.queue(), Keep.both())
            .run(TEST_KIT.system());
    client = socket.first();
    server = socket.second();
  }

  @Test
  void messagesGoToTheConnectionOneAtATimeAsItAcks() {
    Connection.StreamStarted started = connection.expectMessageClass(Connection.StreamStarted.class);
    clientSends(text("one"));
    clientSends(text("two"));
    connection.expectNoMessage(Duration.ofMillis(200));
    started.ackTo().tell(Connection.StreamAck.INSTANCE);
    Connection.Inbound first = connection.expectMessageClass(Connection.Inbound.class);
    assertThat(first.frame()).isEqualTo(new WebSocketFlow.Text("one"));
    connection.expectNoMessage(Duration.ofMillis(200));
    first.ackTo().tell(Connection.StreamAck.INSTANCE);
    assertThat(connection.expectMessageClass(Connection.Inbound.class).frame()).isEqualTo(new WebSocketFlow.Text("two"));
  }

  @Test
  void aMessageInSeveralFramesIsWholeWhenAnAckArrivesBetweenItsFrames() {
    connection.expectMessageClass(Connection.StreamStarted.class).ackTo().tell(Connection.StreamAck.INSTANCE);
    clientSends(text("x"));
    Connection.Inbound x = connection.expectMessageClass(Connection.Inbound.class);
    clientSends(text("a")); // read ahead: waits for x's ack
    clientSends(fragment(Protocol$Opcode$Text$.MODULE$, "c1", false));
    connection.expectNoMessage(Duration.ofMillis(200));
    x.ackTo().tell(Connection.StreamAck.INSTANCE);
    Connection.Inbound a = connection.expectMessageClass(Connection.Inbound.class);
    assertThat(a.frame()).isEqualTo(new WebSocketFlow.Text("a"));
    clientSends(fragment(Protocol$Opcode$Continuation$.MODULE$, "c2", true));
    a.ackTo().tell(Connection.StreamAck.INSTANCE);
    assertThat(connection.expectMessageClass(Connection.Inbound.class).frame())
        .isEqualTo(new WebSocketFlow.Text("c1c2"));
  }

  @Test
  void messagesReadAheadReachTheConnectionBeforeTheClientsClose() {
    connection.expectMessageClass(Connection.StreamStarted.class).ackTo().tell(Connection.StreamAck.INSTANCE);
    clientSends(text("1"));
    clientSends(text("2"));
    clientSends(text("3"));
    clientSends(closeFrame(Protocol.CloseCodes$.MODULE$.Regular()));
    for (String expected : new String[] {"1", "2", "3"}) {
      Connection.Inbound inbound = connection.expectMessageClass(Connection.Inbound.class);
      assertThat(inbound.frame()).isEqualTo(new WebSocketFlow.Text(expected));
      inbound.ackTo().tell(Connection.StreamAck.INSTANCE);
    }
    connection.expectMessage(Connection.StreamEnded.INSTANCE);
    assertThat(closeCode(nextServerFrame())).isEqualTo(Protocol.CloseCodes$.MODULE$.Regular());
  }

  @Test
  void aPingIsAnsweredWhileTheConnectionHoldsAMessage() {
    connection.expectMessageClass(Connection.StreamStarted.class).ackTo().tell(Connection.StreamAck.INSTANCE);
    clientSends(text("busy"));
    connection.expectMessageClass(Connection.Inbound.class); // not acked
    clientSends(masked(Protocol$Opcode$Ping$.MODULE$, "p-1"));
    FrameStart pong = nextServerFrame();
    assertThat(pong.header().opcode()).isEqualTo(Protocol$Opcode$Pong$.MODULE$);
    assertThat(pong.data().utf8String()).isEqualTo("p-1");
  }

  @Test
  void theConnectionsFramesAreWrittenInOrderThenTheCloseWhichTimesOutUnanswered() throws Exception {
    connection.expectMessageClass(Connection.StreamStarted.class);
    outbound.offer("a");
    outbound.offer("b");
    outbound.offerFinal("close");
    outbound.complete();
    assertThat(nextServerFrame().data().utf8String()).isEqualTo("a");
    assertThat(nextServerFrame().data().utf8String()).isEqualTo("b");
    assertThat(nextServerFrame().data().utf8String()).isEqualTo("close");
    assertThat(closeCode(nextServerFrame())).isEqualTo(Protocol.CloseCodes$.MODULE$.Regular());
    connection.expectMessage(Connection.StreamEnded.INSTANCE);
    assertThat(outbound.offer("late")).as("nothing is taken after the end").isFalse();
    // the client never answers the close: the close handshake's timeout (3 s) ends the socket
    assertThat(server.pull().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void thePeersCloseEndsTheConnectionAndIsAnsweredAfterTheQueuedFrames() {
    connection.expectMessageClass(Connection.StreamStarted.class).ackTo().tell(Connection.StreamAck.INSTANCE);
    outbound.offer("queued");
    assertThat(nextServerFrame().data().utf8String()).isEqualTo("queued");
    clientSends(closeFrame(Protocol.CloseCodes$.MODULE$.Regular()));
    connection.expectMessage(Connection.StreamEnded.INSTANCE);
    assertThat(closeCode(nextServerFrame())).isEqualTo(Protocol.CloseCodes$.MODULE$.Regular());
  }

  @Test
  void aConnectionThatStopsClosesTheSocket() {
    TestProbe<Connection.Command> dying = connection;
    dying.expectMessageClass(Connection.StreamStarted.class);
    dying.stop();
    assertThat(closeCode(nextServerFrame())).isEqualTo(Protocol.CloseCodes$.MODULE$.Regular());
  }

  // ---- frames ----

  private void clientSends(FrameEvent frame) {
    client.offer(frame).toCompletableFuture().join();
  }

  private FrameStart nextServerFrame() {
    try {
      Optional<FrameEvent> frame = server.pull().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(frame).as("a frame from the server").isPresent();
      return (FrameStart) frame.get();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static FrameEvent text(String text) {
    return masked(Protocol$Opcode$Text$.MODULE$, text);
  }

  /** A whole message in one frame, masked as a client masks it. */
  private static FrameEvent masked(Protocol.Opcode opcode, String payload) {
    return fragment(opcode, payload, true);
  }

  /** One frame of a message, masked as a client masks it; {@code fin} on its last frame. */
  private static FrameEvent fragment(Protocol.Opcode opcode, String payload, boolean fin) {
    return frame(opcode, ByteString.fromString(payload, StandardCharsets.UTF_8), fin);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static FrameEvent frame(Protocol.Opcode opcode, ByteString payload, boolean fin) {
    Option mask = Option.apply((Object) MASK);
    return FrameEvent.fullFrame(opcode, mask, FrameEventParser.mask(payload, mask), fin, false, false, false);
  }

  private static FrameEvent closeFrame(int code) {
    return frame(Protocol$Opcode$Close$.MODULE$, ByteString.fromArray(new byte[] {(byte) (code >> 8), (byte) code}),
        true);
  }

  private static int closeCode(FrameStart frame) {
    assertThat(frame.header().opcode()).isEqualTo(Protocol$Opcode$Close$.MODULE$);
    ByteString data = frame.data();
    return ((data.apply(0) & 0xff) << 8) | (data.apply(1) & 0xff);
  }
}
