package io.parley.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.util.function.Predicate;

/** The one place frames are mapped to and from JSON text. Thread-safe. */
public final class FrameCodec {
  private final ObjectMapper mapper = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      // a repeated member name is ambiguous (parsers differ on which one wins): the frame is malformed
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      // a field of the wrong JSON type is an error, never converted: "5" is not 5, 5.7 is not 5, 5 is not "5"
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .withCoercionConfig(LogicalType.Textual, config -> config
          .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .build();

  /**
   * Decodes one client frame or throws {@link InvalidFrameException} with the code to report. A well-formed
   * frame is bound in one pass over the text; anything that fails is parsed again as a whole first, so that
   * every syntax error, a non-object and anything after the object are {@code malformed_frame}, and only a
   * well-formed object is bound to a frame (and reported by what is wrong with its fields).
   */
  public ClientFrame decode(String text) {
    // only an object: the binder alone would also take other shapes (a type id wrapped in an array)
    if (startsWithObject(text)) {
      try {
        ClientFrame frame = mapper.readValue(text, ClientFrame.class);
        if (frame != null) {
          return frame;
        }
      } catch (JsonProcessingException | RuntimeException e) {
        // classified below, by the same two-step reading as every rejected frame
      }
    }
    return decodeRejected(text);
  }

  private static boolean startsWithObject(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return c == '{';
      }
    }
    return false;
  }

  private ClientFrame decodeRejected(String text) {
    JsonNode tree;
    try {
      tree = mapper.readTree(text);
    } catch (JsonProcessingException e) {
      throw new InvalidFrameException(ErrorCode.MALFORMED_FRAME, "frame is not valid JSON");
    }
    if (tree == null || !tree.isObject()) {
      throw new InvalidFrameException(ErrorCode.MALFORMED_FRAME, "frame is not a JSON object");
    }
    try {
      return mapper.treeToValue(tree, ClientFrame.class);
    } catch (InvalidTypeIdException e) {
      String type = e.getTypeId();
      throw answering(tree, type == null
          ? new InvalidFrameException(ErrorCode.MALFORMED_FRAME, "frame has no type")
          : new InvalidFrameException(ErrorCode.UNKNOWN_TYPE, "unknown frame type"));
    } catch (ValueInstantiationException e) {
      if (e.getCause() instanceof InvalidFrameException invalid) {
        throw answering(tree, invalid);
      }
      throw answering(tree, new InvalidFrameException(ErrorCode.INVALID_REQUEST, "frame fields are invalid"));
    } catch (JsonProcessingException e) {
      // a mismatched type, a missing field, or a number too large for its field
      throw answering(tree, new InvalidFrameException(ErrorCode.INVALID_REQUEST,
          "frame fields have the wrong type or are missing"));
    }
  }

  /**
   * Names the request a rejection answers, so that a client can match it, from the frame's own fields; only
   * well-formed values are repeated, never arbitrary client text.
   */
  private static InvalidFrameException answering(JsonNode frame, InvalidFrameException e) {
    return e.answering(echo(frame, "requestId", Check::isRequestId),
        echo(frame, "conversationId", Check::isConversationId),
        echo(frame, "idempotencyKey", Check::isIdempotencyKey));
  }

  private static String echo(JsonNode frame, String field, Predicate<String> wellFormed) {
    JsonNode value = frame.get(field);
    return value != null && value.isTextual() && wellFormed.test(value.textValue()) ? value.textValue() : null;
  }

  public String encode(ServerFrame frame) {
    try {
      return mapper.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + frame.getClass().getSimpleName(), e);
    }
  }

  /** For clients and tests: decode a server frame. */
  public ServerFrame decodeServer(String text) {
    try {
      return mapper.readValue(text, ServerFrame.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not a server frame", e);
    }
  }

  /** For clients and tests: encode a client frame. */
  public String encodeClient(ClientFrame frame) {
    try {
      return mapper.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
