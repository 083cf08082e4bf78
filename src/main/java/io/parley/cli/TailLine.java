package io.parley.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.client.DecryptedMessage;
import java.util.LinkedHashMap;
import java.util.Map;

/** How {@code parley tail} prints one message: a line for people, or one JSON object per line for scripts. */
final class TailLine {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TailLine() {}

  /** {@code CONVERSATION #SEQ FROM: TEXT}, with line breaks in the text escaped so a message stays one line. */
  static String plain(DecryptedMessage message, Names names) {
    return message.conversationId() + " #" + message.seq() + " " + names.of(message.fromUser()) + ": "
        + message.text().replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n");
  }

  /** Fields: conversationId, seq, from (account id), fromHandle (when known), fromDevice, text, sentAt, storedAt. */
  static String json(DecryptedMessage message, HandleBook book) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("conversationId", message.conversationId());
    fields.put("seq", message.seq());
    fields.put("from", message.fromUser());
    book.handleOf(message.fromUser()).ifPresent(handle -> fields.put("fromHandle", handle));
    fields.put("fromDevice", message.fromDevice());
    fields.put("text", message.text());
    fields.put("sentAt", message.sentAt() == null ? null : message.sentAt().toString());
    fields.put("storedAt", message.storedAt() == null ? null : message.storedAt().toString());
    try {
      return JSON.writeValueAsString(fields);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a message that cannot be written as JSON", e);
    }
  }
}
