package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class PayloadTest {

  @Test
  void bodyDecodesToExactlyThePayloadSize() {
    for (int size : new int[] {40, 41, 42, 43, 256, 1000, 65_536}) {
      String body = new Payload(size).body(123_456_789L, 7);
      assertThat(Base64.getDecoder().decode(body)).as("size %d", size).hasSize(size);
    }
  }

  @Test
  void bodiesPassTheServersEnvelopeCheck() {
    for (int size : new int[] {40, 256, 65_536}) {
      String body = new Payload(size).body(123_456_789L, 7);
      assertThat(new io.parley.protocol.Envelope("u_" + "b".repeat(22), 1, io.parley.protocol.Envelope.WHISPER, body)
          .bytes()[0]).isEqualTo((byte) 0x44);
    }
    assertThatThrownBy(() -> new Payload(39)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void dueTimeComesBackFromTheBody() {
    Payload payload = new Payload(256);
    assertThat(Payload.dueNanos(payload.body(987_654_321_012L, 3))).isEqualTo(987_654_321_012L);
    assertThat(Payload.dueNanos(payload.body(1L, Integer.MAX_VALUE))).isEqualTo(1L);
  }

  @Test
  void bodiesOfDifferentMessagesDiffer() {
    Payload payload = new Payload(64);
    assertThat(payload.body(5, 1)).isNotEqualTo(payload.body(5, 2)).isNotEqualTo(payload.body(6, 1));
  }

  @Test
  void aForeignBodyIsRejected() {
    assertThatThrownBy(() -> Payload.dueNanos("AAAA")).isInstanceOf(IllegalArgumentException.class);
  }
}
