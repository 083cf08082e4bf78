package io.parley.agent.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DataKeyTest {

  @Test
  void sealedRecordsOpenOnlyInTheirPlaceAndUnaltered() {
    DataKey key = DataKey.generate();
    byte[] sealed = key.seal("hello agent".getBytes(StandardCharsets.UTF_8), "echo|c-1:4");
    assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("hello");
    assertThat(key.open(sealed, "echo|c-1:4")).asString(StandardCharsets.UTF_8).isEqualTo("hello agent");
    assertThatThrownBy(() -> key.open(sealed, "echo|c-1:5")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> DataKey.generate().open(sealed, "echo|c-1:4")).isInstanceOf(IllegalStateException.class);
    assertThat(key.toString()).doesNotContain(new String(key.raw(), StandardCharsets.ISO_8859_1));
  }

  @Test
  void idempotencyKeysAreStableAndDistinct() {
    assertThat(AgentEndpoint.idempotencyKey("echo\u0000ev-1")).isEqualTo(AgentEndpoint.idempotencyKey("echo\u0000ev-1"))
        .isNotEqualTo(AgentEndpoint.idempotencyKey("echo\u0000ev-2")).startsWith("ag-").hasSize(35);
  }
}
