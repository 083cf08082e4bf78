package io.parley.bench;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * What an encrypted bench message carries: a 9-byte header (version, sender index, the sender's message
 * number), then filler that depends only on the two, padded like the client SDK pads a text (a 13-byte header
 * plus the text, rounded up to 64 bytes), so a {@code --payload 256} message encrypts as many bytes as a
 * 256-byte chat text. The receiver can therefore check a decryption against what was encrypted without
 * keeping the plaintexts.
 */
final class BenchPlaintext {
  static final int BLOCK = 64;
  private static final int SDK_HEADER = 1 + 8 + 4;
  private static final byte VERSION = 1;
  private static final int HEADER = 1 + 4 + 4;

  private BenchPlaintext() {}

  /** Plaintext bytes for a text of {@code textBytes}: SDK header + text, rounded up to a whole block. */
  static int size(int textBytes) {
    return (SDK_HEADER + textBytes + BLOCK - 1) / BLOCK * BLOCK;
  }

  /** Message {@code number} of the client with index {@code sender}, {@link #size} bytes. */
  static byte[] encode(int sender, int number, int textBytes) {
    byte[] bytes = new byte[size(textBytes)];
    new SplittableRandom(((long) sender << 32) ^ number).nextBytes(bytes);
    ByteBuffer.wrap(bytes).put(VERSION).putInt(sender).putInt(number);
    return bytes;
  }

  /** The sender's message number written by {@link #encode}; -1 for anything that is not a bench plaintext. */
  static int number(byte[] plaintext) {
    return plaintext.length >= HEADER && plaintext[0] == VERSION ? ByteBuffer.wrap(plaintext, 5, 4).getInt() : -1;
  }

  /** Whether {@code plaintext} is exactly what {@link #encode} produces for its own header and {@code sender}. */
  static boolean isFrom(byte[] plaintext, int sender, int textBytes) {
    int number = number(plaintext);
    return number >= 0 && Arrays.equals(plaintext, encode(sender, number, textBytes));
  }
}
