package io.parley.bench;

import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.HdrHistogram.Histogram;

/**
 * What one receiver got from its peer during a run, kept as it arrived and decrypted only after the run
 * (so decryption takes no CPU from the node while it is measured). A message counts as opened when it
 * decrypts, in arrival order, to exactly the plaintext its sender encrypted for that ciphertext.
 */
final class DecryptionCheck {
  /** How the received messages fared; {@code failed} must be zero. */
  record Outcome(long opened, long failed, Histogram decryptNanos) {

    static Outcome combine(List<Outcome> outcomes) {
      Histogram nanos = new Histogram(3);
      outcomes.forEach(o -> nanos.add(o.decryptNanos()));
      return new Outcome(outcomes.stream().mapToLong(Outcome::opened).sum(),
          outcomes.stream().mapToLong(Outcome::failed).sum(), nanos);
    }
  }

  private record Received(int type, String body) {}

  private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();

  /** Called for every envelope from the peer, in the order they arrive. */
  void received(int type, String body) {
    received.add(new Received(type, body));
  }

  int size() {
    return received.size();
  }

  /**
   * Decrypts everything received from {@code peer} (client index {@code peerIndex}, who encrypted
   * {@code sent}) with {@code device}, in arrival order. A body the peer never encrypted, a decryption that
   * fails and a plaintext other than the one encrypted into that body all count as failed.
   */
  Outcome verify(BenchDevice device, String peer, int peerIndex, PreEncrypted sent, int textBytes) {
    Histogram nanos = new Histogram(3);
    long opened = 0;
    long failed = 0;
    Base64.Decoder base64 = Base64.getDecoder();
    for (Received message : received) {
      int number = sent.number(message.body());
      try {
        byte[] body = base64.decode(message.body());
        long started = System.nanoTime();
        byte[] plaintext = device.decrypt(peer, message.type(), body);
        nanos.recordValue(System.nanoTime() - started);
        if (number >= 0 && BenchPlaintext.number(plaintext) == number
            && BenchPlaintext.isFrom(plaintext, peerIndex, textBytes)) {
          opened++;
        } else {
          failed++;
        }
      } catch (Exception e) {
        failed++;
      }
    }
    return new Outcome(opened, failed, nanos);
  }
}
