package io.parley.agent.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import io.parley.agent.events.EventSignature;
import io.parley.agent.events.ParleyEvents;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a demo agent answers: a signed binary-mode CloudEvent POSTed to Parley's
 * {@code /v1/agents/{agentId}/events}, sent again with the same id after a connection error, 429 or 5xx
 * (a few times, with growing pauses), as docs/agents.md asks of every agent.
 */
final class ReplySender {
  private static final Logger log = LoggerFactory.getLogger(ReplySender.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final int ATTEMPTS = 6;
  private static final Duration FIRST_PAUSE = Duration.ofMillis(200);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final HttpClient http;
  private final URI parleyUrl;
  private final Clock clock;

  ReplySender(HttpClient http, URI parleyUrl, Clock clock) {
    this.http = http;
    this.parleyUrl = parleyUrl;
    this.clock = clock;
  }

  /** Sends one event; true once Parley took it (2xx, duplicate included), false when it refused or gave up. */
  boolean send(DemoAgents.Identity agent, String type, String id, String conversationId, Map<String, Object> data) {
    return send(agent, type, id, conversationId, data, ATTEMPTS);
  }

  /** Sends a partial reply once: it is outdated by the next one, so it is not worth waiting for. */
  boolean sendOnce(DemoAgents.Identity agent, String type, String id, String conversationId, Map<String, Object> data) {
    return send(agent, type, id, conversationId, data, 1);
  }

  private boolean send(DemoAgents.Identity agent, String type, String id, String conversationId,
                       Map<String, Object> data, int attempts) {
    byte[] bytes;
    try {
      bytes = JSON.writeValueAsBytes(data);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    CloudEvent event = CloudEventBuilder.v1()
        .withId(id)
        .withType(type)
        .withSource(URI.create("/agents/" + agent.agentId()))
        .withDataContentType(ParleyEvents.JSON)
        .withExtension(ParleyEvents.EXT_CONVERSATION, conversationId)
        .withData(bytes)
        .build();
    Map<String, String> headers = new LinkedHashMap<>();
    byte[][] body = new byte[1][];
    HttpMessageFactory.createWriter(headers::put, b -> body[0] = b).writeBinary(event);
    URI target = parleyUrl.resolve("/v1/agents/" + agent.agentId() + "/events");
    byte[] secret = agent.secret().getBytes(StandardCharsets.UTF_8);

    Duration pause = FIRST_PAUSE;
    for (int attempt = 1; attempt <= attempts; attempt++) {
      long timestamp = clock.instant().getEpochSecond();
      HttpRequest.Builder request = HttpRequest.newBuilder(target)
          .timeout(TIMEOUT)
          .header(ParleyEvents.HEADER_TIMESTAMP, Long.toString(timestamp))
          .header(ParleyEvents.HEADER_SIGNATURE, EventSignature.sign(secret, timestamp, body[0]))
          .POST(HttpRequest.BodyPublishers.ofByteArray(body[0]));
      headers.forEach(request::header);
      String failure;
      try {
        int status = http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status / 100 == 2) {
          return true;
        }
        if (status != 429 && status < 500) {
          log.warn("Parley refused the {} event {} of agent {} with status {}", type, id, agent.agentId(), status);
          return false;
        }
        failure = "status " + status;
      } catch (IOException e) {
        failure = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      log.debug("Sending event {} of agent {} failed ({}), attempt {}", id, agent.agentId(), failure, attempt);
      if (attempt < attempts && !pause(pause)) {
        return false;
      }
      pause = pause.multipliedBy(2);
    }
    log.warn("Gave up sending event {} of agent {} to Parley", id, agent.agentId());
    return false;
  }

  private static boolean pause(Duration ceiling) {
    try {
      // full jitter: agents retrying together do not come back together
      Thread.sleep(ThreadLocalRandom.current().nextLong(ceiling.toMillis() / 2, ceiling.toMillis() + 1));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
