package io.parley.agent.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.parley.agent.events.ParleyEvents;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo agent that forwards each message to an OpenAI-compatible chat-completions service
 * ({@code POST <base-url>/v1/chat/completions} with {@code stream: true}) and streams the answer back:
 * typing, then a partial reply at most every {@value #PARTIAL_INTERVAL_MS} ms or {@value #PARTIAL_CHARS}
 * new characters (each partial carries the whole answer so far, so a lost one costs nothing), then the final
 * reply. Without a configured base URL it says so. One message, one question: it keeps no history.
 */
final class OpenAiForwarder {
  private static final Logger log = LoggerFactory.getLogger(OpenAiForwarder.class);
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  static final long PARTIAL_INTERVAL_MS = 100;
  static final int PARTIAL_CHARS = 64;
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final String SYSTEM_PROMPT =
      "You are an assistant inside Parley, a chat app. Answer briefly and plainly.";

  private final DemoAgents.Identity identity;
  private final ReplySender replies;
  private final HttpClient http;
  private final DemoAgents.OpenAi settings;
  private final Clock clock;

  OpenAiForwarder(DemoAgents.Identity identity, ReplySender replies, HttpClient http, DemoAgents.OpenAi settings,
                  Clock clock) {
    this.identity = identity;
    this.replies = replies;
    this.http = http;
    this.settings = settings;
    this.clock = clock;
  }

  void handle(DemoReceiver.Incoming message) {
    replies.send(identity, ParleyEvents.REPLY_TYPING, message.eventId() + ":typing", message.conversationId(),
        Map.of("active", true));
    String answer;
    if (settings.baseUrl().isEmpty()) {
      answer = "The OpenAI-compatible forwarder is not configured: start it with PARLEY_OPENAI_BASE_URL "
          + "(and PARLEY_OPENAI_API_KEY, PARLEY_OPENAI_MODEL) set.";
    } else {
      try {
        answer = stream(settings.baseUrl().get(), message);
        if (answer.isBlank()) {
          answer = "(the model returned an empty answer)";
        }
      } catch (UpstreamException e) {
        answer = "The model service could not answer (" + e.getMessage() + "). Try again later.";
      } catch (IOException e) {
        log.warn("The model service of agent {} failed: {}", identity.agentId(), e.toString());
        answer = "The model service could not be reached. Try again later.";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    replies.send(identity, ParleyEvents.REPLY_MESSAGE, message.eventId() + ":reply", message.conversationId(),
        Map.of("text", answer));
  }

  /** The chat-completions URL for a base URL given with or without its {@code /v1}. */
  static URI completionsUrl(URI baseUrl) {
    String base = baseUrl.toString().replaceAll("/+$", "");
    return URI.create(base.endsWith("/v1") ? base + "/chat/completions" : base + "/v1/chat/completions");
  }

  private String stream(URI baseUrl, DemoReceiver.Incoming message)
      throws IOException, InterruptedException, UpstreamException {
    byte[] request = JSON.writeValueAsBytes(Map.of(
        "model", settings.model(),
        "stream", true,
        "messages", List.of(
            Map.of("role", "system", "content", SYSTEM_PROMPT),
            Map.of("role", "user", "content", message.text()))));
    HttpRequest.Builder builder = HttpRequest.newBuilder(completionsUrl(baseUrl))
        .timeout(TIMEOUT)
        .header("Content-Type", "application/json")
        .header("Accept", "text/event-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(request));
    settings.apiKey().ifPresent(key -> builder.header("Authorization", "Bearer " + key));
    HttpResponse<Stream<String>> response = http.send(builder.build(), HttpResponse.BodyHandlers.ofLines());
    StringBuilder answer = new StringBuilder();
    try (Stream<String> lines = response.body()) {
      if (response.statusCode() != 200) {
        throw new UpstreamException("status " + response.statusCode());
      }
      int partials = 0;
      int sentLength = 0;
      long sentAt = clock.millis();
      for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
        String line = it.next();
        if (!line.startsWith("data:")) {
          continue;
        }
        String payload = line.substring("data:".length()).strip();
        if (payload.equals("[DONE]")) {
          break;
        }
        JsonNode content = JSON.readTree(payload).path("choices").path(0).path("delta").path("content");
        if (content.isTextual()) {
          answer.append(content.asText());
        }
        long now = clock.millis();
        if (answer.length() > sentLength
            && (now - sentAt >= PARTIAL_INTERVAL_MS || answer.length() - sentLength >= PARTIAL_CHARS)) {
          partials++;
          replies.sendOnce(identity, ParleyEvents.REPLY_PARTIAL, message.eventId() + ":partial:" + partials,
              message.conversationId(), Map.of("text", answer.toString()));
          sentLength = answer.length();
          sentAt = now;
        }
      }
    }
    return answer.toString();
  }

  /** The model service answered, but not with a stream of completions. */
  private static final class UpstreamException extends Exception {
    UpstreamException(String message) {
      super(message);
    }
  }
}
