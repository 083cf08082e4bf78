package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.client.DecryptedMessage;
import io.parley.client.StoreKey;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TailLineTest {
  private static final String BOB = "u_BBBBBBBBBBBBBBBBBBBBBB";
  private static final DecryptedMessage MESSAGE = new DecryptedMessage("c-1", 7, BOB, 2, "two\nlines \\ here",
      Instant.parse("2025-05-01T12:00:00Z"), Instant.parse("2025-05-01T12:00:01Z"));

  @TempDir Path store;

  @Test
  void plainLineKeepsAMessageOnOneLine() {
    HandleBook book = HandleBook.open(store, StoreKey.raw(new byte[32]));
    book.rememberHandle("bob", BOB);
    assertThat(TailLine.plain(MESSAGE, new Names(book))).isEqualTo("c-1 #7 bob: two\\nlines \\\\ here");
  }

  @Test
  void jsonLineCarriesEveryField() throws Exception {
    HandleBook book = HandleBook.open(store, StoreKey.raw(new byte[32]));
    String line = TailLine.json(MESSAGE, book);
    assertThat(line).doesNotContain("\n");
    JsonNode json = new ObjectMapper().readTree(line);
    assertThat(json.get("conversationId").asText()).isEqualTo("c-1");
    assertThat(json.get("seq").asLong()).isEqualTo(7);
    assertThat(json.get("from").asText()).isEqualTo(BOB);
    assertThat(json.has("fromHandle")).isFalse();
    assertThat(json.get("fromDevice").asInt()).isEqualTo(2);
    assertThat(json.get("text").asText()).isEqualTo("two\nlines \\ here");
    assertThat(json.get("storedAt").asText()).isEqualTo("2025-05-01T12:00:01Z");

    book.rememberHandle("bob", BOB);
    assertThat(new ObjectMapper().readTree(TailLine.json(MESSAGE, book)).get("fromHandle").asText()).isEqualTo("bob");
  }
}
