package io.parley.agent.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.cloudevents.CloudEvent;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.rw.CloudEventRWException;
import io.parley.agent.events.EventSignature;
import io.parley.agent.events.ParleyEvents;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A demo agent's CloudEvents endpoint, done the way docs/agents.md asks of an agent: check Parley's
 * signature, answer 202 at once and work on the reply in the background, and take an id seen before as
 * already handled (Parley sends a message again until it gets a 2xx).
 */
final class DemoReceiver implements HttpHandler {
  private static final Logger log = LoggerFactory.getLogger(DemoReceiver.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final Duration MAX_AGE = Duration.ofMinutes(5);
  private static final int MAX_BODY = 256 * 1024;
  private static final int REMEMBERED_IDS = 10_000;

  /** A user's message as a demo agent sees it. */
  record Incoming(String eventId, String conversationId, String text) {}

  private final DemoAgents.Identity agent;
  private final Consumer<Incoming> behaviour;
  private final ExecutorService workers;
  private final Clock clock;
  private final Set<String> seen = Collections.synchronizedSet(Collections.newSetFromMap(
      new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > REMEMBERED_IDS;
        }
      }));

  DemoReceiver(DemoAgents.Identity agent, Consumer<Incoming> behaviour, ExecutorService workers, Clock clock) {
    this.agent = agent;
    this.behaviour = behaviour;
    this.workers = workers;
    this.clock = clock;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        respond(exchange, 405, "{\"error\":\"method_not_allowed\"}");
        return;
      }
      byte[] body = exchange.getRequestBody().readNBytes(MAX_BODY + 1);
      if (body.length > MAX_BODY) {
        respond(exchange, 413, "{\"error\":\"too_large\"}");
        return;
      }
      Map<String, String> headers = new LinkedHashMap<>();
      exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(), values.get(0)));
      boolean signed = EventSignature.verify(agent.secret().getBytes(StandardCharsets.UTF_8),
          Optional.ofNullable(headers.get("x-parley-timestamp")), Optional.ofNullable(headers.get("x-parley-signature")),
          body, clock.instant(), MAX_AGE);
      if (!signed) {
        respond(exchange, 401, "{\"error\":\"unauthenticated\"}");
        return;
      }
      Incoming incoming;
      try {
        incoming = parse(HttpMessageFactory.createReader(headers, body).toEvent());
      } catch (CloudEventRWException | IllegalArgumentException | IllegalStateException | IOException e) {
        respond(exchange, 400, JSON.writeValueAsString(Map.of("error", "malformed", "message", e.getMessage())));
        return;
      }
      if (!seen.add(incoming.eventId())) {
        respond(exchange, 200, "{\"duplicate\":true}");
        return;
      }
      try {
        workers.execute(() -> behaviour.accept(incoming));
      } catch (RejectedExecutionException e) {
        seen.remove(incoming.eventId());
        respond(exchange, 503, "{\"error\":\"stopping\"}");
        return;
      }
      respond(exchange, 202, "{\"accepted\":true}");
    } catch (RuntimeException e) {
      log.warn("Demo agent {} failed on a request: {}", agent.agentId(), e.toString());
    }
  }

  private static Incoming parse(CloudEvent event) throws IOException {
    if (!ParleyEvents.MESSAGE_CREATED.equals(event.getType())) {
      throw new IllegalArgumentException("expected an event of type " + ParleyEvents.MESSAGE_CREATED);
    }
    Object conversation = event.getExtension(ParleyEvents.EXT_CONVERSATION);
    if (conversation == null || event.getData() == null) {
      throw new IllegalArgumentException("a message needs the parleyconversation extension and data");
    }
    JsonNode text = JSON.readTree(event.getData().toBytes()).get("text");
    if (text == null || !text.isTextual()) {
      throw new IllegalArgumentException("a message's data is {\"text\": ...}");
    }
    return new Incoming(event.getId(), conversation.toString(), text.asText());
  }

  private static void respond(HttpExchange exchange, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }
}
