package io.parley.client;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * What travels inside an envelope: version 1 is {@code 0x01 | sentAt (8 bytes, epoch ms) | text length
 * (4 bytes) | text (UTF-8) | random padding}, the whole padded to a multiple of 64 bytes so that the
 * ciphertext's length tells only the text's length rounded up. An ephemeral frame's plaintext has the same
 * layout with first byte {@code 0x02}: each kind is refused where the other is expected, so a server cannot
 * replay an ephemeral ciphertext as a stored message (or the other way round).
 */
record Plaintext(String text, long sentAt) {
  static final int BLOCK = 64;
  private static final byte VERSION = 1;
  private static final byte EPHEMERAL = 2;
  private static final int HEADER = 1 + 8 + 4;
  private static final SecureRandom RANDOM = new SecureRandom();

  byte[] encode() {
    return encode(VERSION);
  }

  byte[] encodeEphemeral() {
    return encode(EPHEMERAL);
  }

  private byte[] encode(byte version) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int length = HEADER + utf8.length;
    int padded = (length + BLOCK - 1) / BLOCK * BLOCK;
    byte[] padding = new byte[padded - length];
    RANDOM.nextBytes(padding);
    return ByteBuffer.allocate(padded).put(version).putLong(sentAt).putInt(utf8.length).put(utf8).put(padding).array();
  }

  /** Decodes version 1; anything else (another version, a wrong length, bad UTF-8) is refused. */
  static Plaintext decode(byte[] bytes) {
    return decode(bytes, VERSION);
  }

  /** Decodes an ephemeral frame's plaintext; a stored message's is refused. */
  static Plaintext decodeEphemeral(byte[] bytes) {
    return decode(bytes, EPHEMERAL);
  }

  private static Plaintext decode(byte[] bytes, byte expected) {
    try {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      byte version = buffer.get();
      if (version != expected) {
        throw new IllegalArgumentException("unknown plaintext version " + version);
      }
      long sentAt = buffer.getLong();
      int length = buffer.getInt();
      if (length < 0 || length > buffer.remaining() || bytes.length % BLOCK != 0) {
        throw new IllegalArgumentException("plaintext length out of range");
      }
      byte[] utf8 = new byte[length];
      buffer.get(utf8);
      String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8)).toString();
      return new Plaintext(text, sentAt);
    } catch (BufferUnderflowException | CharacterCodingException e) {
      throw new IllegalArgumentException("malformed plaintext", e);
    }
  }
}
