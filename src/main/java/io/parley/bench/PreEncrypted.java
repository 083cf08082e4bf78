package io.parley.bench;

import io.parley.protocol.Envelope;
import java.util.Base64;
import java.util.HashMap;
import java.util.IntSummaryStatistics;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.signal.libsignal.protocol.NoSessionException;
import org.signal.libsignal.protocol.UntrustedIdentityException;

/**
 * The messages one sender will send in a run, encrypted for its peer before sending starts, in the order
 * they will be sent (so the peer's ratchet sees them in order). The receiver finds a body's message number
 * here without decrypting it, which is how it times a delivery; it decrypts after the run.
 */
final class PreEncrypted {
  private final String[] bodies;
  private final int[] types;
  private final Map<String, Integer> numbers;
  private final Histogram encryptNanos;
  private final IntSummaryStatistics whisperBytes;
  private final IntSummaryStatistics preKeyBytes;

  private PreEncrypted(String[] bodies, int[] types, Map<String, Integer> numbers, Histogram encryptNanos,
                       IntSummaryStatistics whisperBytes, IntSummaryStatistics preKeyBytes) {
    this.bodies = bodies;
    this.types = types;
    this.numbers = numbers;
    this.encryptNanos = encryptNanos;
    this.whisperBytes = whisperBytes;
    this.preKeyBytes = preKeyBytes;
  }

  /**
   * Encrypts messages 0 to {@code count - 1} of the client with index {@code sender} for {@code peer}, with
   * which {@code device} already has a session; each encryption is timed on its own.
   */
  static PreEncrypted encrypt(BenchDevice device, String peer, int sender, int count, int textBytes)
      throws NoSessionException, UntrustedIdentityException {
    String[] bodies = new String[count];
    int[] types = new int[count];
    Map<String, Integer> numbers = new HashMap<>(count * 2);
    Histogram encryptNanos = new Histogram(3);
    IntSummaryStatistics whisper = new IntSummaryStatistics();
    IntSummaryStatistics preKey = new IntSummaryStatistics();
    Base64.Encoder base64 = Base64.getEncoder();
    for (int number = 0; number < count; number++) {
      byte[] plaintext = BenchPlaintext.encode(sender, number, textBytes);
      long started = System.nanoTime();
      BenchDevice.Sealed sealed = device.encrypt(peer, plaintext);
      encryptNanos.recordValue(System.nanoTime() - started);
      bodies[number] = base64.encodeToString(sealed.body());
      types[number] = sealed.type();
      (sealed.type() == Envelope.PREKEY ? preKey : whisper).accept(sealed.body().length);
      numbers.put(bodies[number], number);
    }
    return new PreEncrypted(bodies, types, Map.copyOf(numbers), encryptNanos, whisper, preKey);
  }

  int count() {
    return bodies.length;
  }

  /** The base64 ciphertext of message {@code number}. */
  String body(int number) {
    return bodies[number];
  }

  int type(int number) {
    return types[number];
  }

  /** The message number of a body encrypted here; -1 for any other body. */
  int number(String body) {
    Integer number = numbers.get(body);
    return number == null ? -1 : number;
  }

  /** Time to encrypt each message, in nanoseconds. */
  Histogram encryptNanos() {
    return encryptNanos;
  }

  IntSummaryStatistics whisperBytes() {
    return whisperBytes;
  }

  IntSummaryStatistics preKeyBytes() {
    return preKeyBytes;
  }
}
