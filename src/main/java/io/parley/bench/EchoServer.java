package io.parley.bench;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocket;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The ceiling {@code parley bench-echo} measures against: a bare pekko-http WebSocket server (the same
 * Pekko and pekko-http as a Parley node, {@code max-connections} raised) that sends every message back as
 * it came, with nothing of Parley in between. {@code GET /ws} upgrades; anything else is 404.
 */
final class EchoServer {
  private EchoServer() {
  }

  static CompletionStage<ServerBinding> bind(BenchTransport transport, String host, int port) {
    Flow<Message, Message, NotUsed> echo = Flow.create();
    return Http.get(transport.system()).newServerAt(host, port).bindSync((HttpRequest request) ->
        request.getUri().path().equals("/ws")
            ? WebSocket.handleWebSocketRequestWith(request, echo)
            : HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
  }
}
