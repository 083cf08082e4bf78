package io.parley.bench;

import io.parley.protocol.Envelope;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Random;

/**
 * The fake ciphertext a bench message carries: a 15-byte header (the Signal version byte the server checks
 * for, two zero bytes, when the message was due to be sent in the bench's own nanosecond clock, and the
 * message number), then filler up to the payload size, at least the size of the smallest Signal message.
 * The header is a whole number of base64 groups, so the body is the header's base64 followed by the
 * filler's base64, computed once; reading the send time back decodes only the first 20 characters.
 */
final class Payload {
  static final int MIN_BYTES = Envelope.MIN_WHISPER_BYTES;
  private static final int HEADER_BYTES = 15;
  private static final int HEADER_CHARS = 20;

  private final int bytes;
  private final String filler;

  Payload(int bytes) {
    if (bytes < MIN_BYTES) {
      throw new IllegalArgumentException("a payload is at least " + MIN_BYTES + " bytes");
    }
    this.bytes = bytes;
    byte[] rest = new byte[bytes - HEADER_BYTES];
    new Random(bytes).nextBytes(rest); // random bytes: a body that does not compress, like a ciphertext
    this.filler = Base64.getEncoder().encodeToString(rest);
  }

  /** The payload size: ciphertext bytes, or with {@code --encrypt} the text bytes that are encrypted. */
  int bytes() {
    return bytes;
  }

  /** The base64 body of message {@code number}, due at {@code dueNanos}. */
  String body(long dueNanos, int number) {
    byte[] header = ByteBuffer.allocate(HEADER_BYTES).put(Envelope.VERSION_BYTE).putShort((short) 0)
        .putLong(dueNanos).putInt(number).array();
    return Base64.getEncoder().encodeToString(header) + filler;
  }

  /** The due time written into a body by {@link #body}. */
  static long dueNanos(String body) {
    if (body.length() < HEADER_CHARS) {
      throw new IllegalArgumentException("not a bench body");
    }
    ByteBuffer header = ByteBuffer.wrap(Base64.getDecoder().decode(body.substring(0, HEADER_CHARS)));
    if (header.get() != Envelope.VERSION_BYTE) {
      throw new IllegalArgumentException("not a bench body");
    }
    return header.position(3).getLong();
  }
}
