package io.parley.gateway;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/** JSON answers and JSON request bodies, as every REST route of the node gives and takes them. */
public final class JsonRoutes {
  // a body with a repeated key or trailing content is refused rather than read one of several ways
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  private JsonRoutes() {}

  public static Route json(StatusCode status, Object body) {
    return Directives.complete(response(status, body));
  }

  /** The answer itself, for routes that complete a future with it or add headers. */
  public static HttpResponse response(StatusCode status, Object body) {
    try {
      return HttpResponse.create().withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsString(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an answer could not be written as JSON", e);
    }
  }

  /** {@code {"error": code, "message": message}}: a stable code for programs, a sentence for people. */
  public static Route error(StatusCode status, String code, String message) {
    return json(status, Map.of("error", code, "message", message));
  }

  /** The request body as JSON: refused with 413 beyond {@code maxBytes}, 400 when it is not JSON or empty. */
  public static Route withJsonBody(long maxBytes, Function<JsonNode, Route> inner) {
    return Directives.extractRequestEntity(entity -> {
      if (entity.getContentLengthOption().orElse(0L) > maxBytes) {
        return error(StatusCodes.PAYLOAD_TOO_LARGE, "payload_too_large",
            "a request body is at most " + maxBytes + " bytes");
      }
      return Directives.withSizeLimit(maxBytes, () -> Directives.entity(Unmarshaller.entityToString(), text -> {
        JsonNode body;
        try {
          body = JSON.readTree(text);
        } catch (JsonProcessingException e) {
          return error(StatusCodes.BAD_REQUEST, "invalid_request", "the body is not valid JSON");
        }
        if (body == null || body.isMissingNode()) {
          return error(StatusCodes.BAD_REQUEST, "invalid_request", "the body is empty");
        }
        return inner.apply(body);
      }));
    });
  }
}
