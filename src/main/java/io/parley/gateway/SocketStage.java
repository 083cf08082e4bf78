package io.parley.gateway;

import java.time.Duration;
import java.util.ArrayDeque;
import org.apache.pekko.actor.Terminated;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.impl.engine.ws.FrameEvent;
import org.apache.pekko.http.impl.engine.ws.FrameHandler;
import org.apache.pekko.http.impl.engine.ws.Protocol;
import org.apache.pekko.http.impl.engine.ws.Protocol$Opcode$Text$;
import org.apache.pekko.http.impl.engine.ws.WebSocket;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.GraphStageLogic.StageActor;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;
import scala.Option;
import scala.runtime.BoxedUnit;

/**
 * Parley's side of one WebSocket, in one stage right above pekko-http's frame handling (masking, control
 * frames, UTF-8, the close handshake, transport pings): it takes the parts of the client's messages, reads each
 * message to the end (up to a size limit) and hands it to the socket's {@link Connection} one at a time, and it
 * writes the connection's {@link Outbound} frames as whole text frames.
 *
 * <p>It stands in for pekko-http's message layer, which builds a substream per message (split, prefix-and-tail,
 * concat) and renders each outbound message through a flattened source: most of the transport's cost per frame
 * (ADR 0025). What that layer did for the frame handling below is kept: control events pass straight through
 * (pongs, the peer's close, a protocol error's close), the end of Parley's side is reported once
 * ({@code UserHandlerCompleted}) after the last queued frame, and close-timeout ticks are given while closing.
 * Either side's end ends the other, as a coupled flow does: the connection hears of the stream's end once.
 */
final class SocketStage extends GraphStage<FlowShape<FrameHandler.Output, Object>> {
  /** How often a closing socket checks its close handshake's deadline (pekko-http's close timeout is 3 s). */
  private static final Duration CLOSE_TICK = Duration.ofSeconds(1);
  /** Whole messages read ahead while the connection works on one, as the actor sink this replaces buffered. */
  private static final int READ_AHEAD = 16;

  private final Inlet<FrameHandler.Output> in = Inlet.create("SocketStage.in");
  private final Outlet<Object> out = Outlet.create("SocketStage.out");
  private final FlowShape<FrameHandler.Output, Object> shape = FlowShape.of(in, out);
  private final ActorRef<Connection.Command> connection;
  private final Outbound outbound;
  private final int maxChars;

  SocketStage(ActorRef<Connection.Command> connection, Outbound outbound, int maxChars) {
    this.connection = connection;
    this.outbound = outbound;
    this.maxChars = maxChars;
  }

  @Override
  public FlowShape<FrameHandler.Output, Object> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name("parley-socket");
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends TimerGraphStageLogic {
    /** Control events for the frame handling below, ahead of the connection's frames. */
    private final ArrayDeque<Object> control = new ArrayDeque<>(2);
    /** The parts of a message in several parts so far; null between messages. */
    private StringBuilder text;
    private ActorRef<Connection.StreamAck> ackTo;
    /** A message (or the stream's start) is with the connection; the next is handed on once it acks. */
    private boolean awaitingAck = true;
    /** Whole messages read while the connection had one to ack; null until a client first sends ahead. */
    private ArrayDeque<WebSocketFlow.InboundFrame> waiting;
    /** The client's input has ended cleanly: the connection hears of it once the waiting messages are handed. */
    private boolean endWhenHanded;
    private boolean inMessage;
    private boolean tooLarge;
    /** The connection has been told that the stream ended: it gets no more messages. */
    private boolean connectionTold;
    private boolean lastFramePassed;
    private boolean tickDue;

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          received(grab(in));
        }

        @Override
        public void onUpstreamFinish() {
          if (inMessage) {
            endConnection(true); // the stream ended inside a message
          } else {
            inputEnded();
          }
          write();
        }

        @Override
        public void onUpstreamFailure(Throwable cause) {
          endConnection(true);
          failStage(cause);
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          write();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          endConnection(false);
          completeStage();
        }
      });
    }

    @Override
    public void preStart() {
      StageActor stageActor = getStageActor(message -> {
        if (message._2() == Connection.StreamAck.INSTANCE) {
          acked();
        } else if (message._2() instanceof Terminated) {
          // the connection stopped without hearing of the stream's end (it failed): the socket closes
          endConnection(false);
          write();
          read();
        }
        return BoxedUnit.UNIT;
      });
      stageActor.watch(Adapter.toClassic(connection));
      ackTo = Adapter.toTyped(stageActor.ref());
      AsyncCallback<BoxedUnit> woken = createAsyncCallback(unit -> {
        outbound.woken();
        write();
      });
      outbound.attach(() -> woken.invoke(BoxedUnit.UNIT));
      connection.tell(new Connection.StreamStarted(ackTo));
    }

    @Override
    public void postStop() {
      endConnection(false);
    }

    @Override
    public void onTimer(Object key) {
      tickDue = true;
      write();
    }

    // ---- from the client ----

    private void received(FrameHandler.Output part) {
      if (part instanceof FrameHandler.TextMessagePart textPart) {
        inMessage = !textPart.last();
        String data = textPart.data();
        if (textPart.last() && text == null && !tooLarge) {
          // the usual case: the whole message in one part, handed on as it is
          messageRead(data.length() > maxChars ? WebSocketFlow.TooLarge.INSTANCE : new WebSocketFlow.Text(data));
        } else {
          collect(data);
          if (textPart.last()) {
            messageRead(tooLarge ? WebSocketFlow.TooLarge.INSTANCE : new WebSocketFlow.Text(text.toString()));
          }
        }
      } else if (part instanceof FrameHandler.BinaryMessagePart binaryPart) {
        inMessage = !binaryPart.last();
        if (binaryPart.last()) {
          messageRead(WebSocketFlow.Binary.INSTANCE);
        }
      } else if (part instanceof FrameHandler.PeerClosed closed) {
        control.add(closed);
        if (inMessage || isError(closed.code())) {
          endConnection(true);
        } else {
          inputEnded();
        }
      } else if (part instanceof FrameHandler.ActivelyCloseWithCode close) {
        control.add(close);
        startClosing();
        endConnection(true);
      } else if (part instanceof FrameHandler.BypassEvent event) {
        control.add(event);
      }
      // MessageEnd follows the last part of every message: nothing to do
      write();
      read();
    }

    /** A part of a message in several parts: kept up to the limit, then only counted as too large. */
    private void collect(String data) {
      if (tooLarge) {
        return;
      }
      int collected = text == null ? 0 : text.length();
      if (collected + data.length() > maxChars) {
        tooLarge = true;
        text = null;
      } else {
        if (text == null) {
          text = new StringBuilder(Math.min(maxChars, Math.max(256, 2 * data.length())));
        }
        text.append(data);
      }
    }

    /** A whole message has been read: reading starts over, and the message goes on to the connection. */
    private void messageRead(WebSocketFlow.InboundFrame frame) {
      text = null; // an idle socket keeps no buffer, however large its last message was
      tooLarge = false;
      hand(frame);
    }

    /**
     * Hands a whole message to the connection, or keeps it while the connection has one to ack: reading goes on
     * meanwhile (pings are answered, a close is seen) until {@link #READ_AHEAD} messages wait.
     */
    private void hand(WebSocketFlow.InboundFrame frame) {
      if (connectionTold) {
        return;
      }
      if (awaitingAck) {
        if (waiting == null) {
          waiting = new ArrayDeque<>(READ_AHEAD);
        }
        waiting.add(frame);
      } else {
        awaitingAck = true;
        connection.tell(new Connection.Inbound(ackTo, frame));
      }
    }

    private void acked() {
      awaitingAck = false;
      WebSocketFlow.InboundFrame next = waiting == null ? null : waiting.poll();
      if (next != null) {
        hand(next);
      }
      if (endWhenHanded && (waiting == null || waiting.isEmpty())) {
        endConnection(false);
        write();
      }
      read();
    }

    /**
     * The client has sent its last message (a clean close, or the end of the TCP stream between messages): the
     * messages read ahead still go to the connection, then it hears of the end.
     */
    private void inputEnded() {
      if (waiting == null || waiting.isEmpty()) {
        endConnection(false);
      } else {
        endWhenHanded = true;
      }
    }

    /** Reads on: while fewer than {@link #READ_AHEAD} messages wait and no control event waits to be written. */
    private void read() {
      boolean roomToRead = waiting == null || waiting.size() < READ_AHEAD;
      if (!isClosed(in) && !hasBeenPulled(in) && control.isEmpty() && roomToRead) {
        pull(in);
      }
    }

    /** Either side has ended: the connection hears of it once, and takes no more frames. */
    private void endConnection(boolean failed) {
      if (connectionTold) {
        return;
      }
      connectionTold = true;
      waiting = null;
      outbound.close();
      connection.tell(failed
          ? new Connection.StreamFailed(new IllegalStateException("the WebSocket ended abnormally"))
          : Connection.StreamEnded.INSTANCE);
    }

    // ---- to the client ----

    /** Writes the next control event, frame, end of Parley's side or tick, if the frame handling wants one. */
    private void write() {
      if (!isAvailable(out)) {
        return;
      }
      Object next = control.poll();
      if (next == null) {
        String frame = outbound.poll();
        if (frame != null) {
          next = FrameEvent.fullFrame(Protocol$Opcode$Text$.MODULE$, Option.empty(), ByteString.fromString(frame),
              true, false, false, false);
        } else if (!lastFramePassed && outbound.isCompleted()) {
          // the connection's last frame is written (or the stream ended first): Parley's side ends
          lastFramePassed = true;
          startClosing();
          endConnection(false);
          next = FrameHandler.UserHandlerCompleted$.MODULE$;
        } else if (tickDue) {
          tickDue = false;
          next = WebSocket.Tick$.MODULE$;
        }
      }
      if (next != null) {
        push(out, next);
      }
      if (isClosed(in) && control.isEmpty() && lastFramePassed) {
        completeStage();
      } else {
        read();
      }
    }

    private void startClosing() {
      if (!isTimerActive("close")) {
        scheduleWithFixedDelay("close", CLOSE_TICK, CLOSE_TICK);
      }
    }

    private static boolean isError(Option<Object> code) {
      return code.isDefined() && Protocol.CloseCodes$.MODULE$.isError((Integer) code.get());
    }
  }
}
