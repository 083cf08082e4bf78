package io.parley.bench;

import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * What one bench run does: {@code clients} connections in {@code clients / groupSize} conversations of
 * {@code groupSize} members (2: one-to-one), every client sending to the other members, together
 * {@code rate} messages a second, first for {@code warmup} (not measured), then for {@code duration}
 * (measured). With {@code encrypt} the bodies are real Signal ciphertexts of {@code payloadBytes} of text
 * instead of {@code payloadBytes} of random bytes. Sockets connect from {@code clientsPerAddress} per
 * loopback source address (0: the default address).
 */
record BenchPlan(URI url, int clients, int groupSize, double rate, Duration warmup, Duration duration,
                 int payloadBytes, int ackEvery, int threads, Duration drainTimeout, OptionalLong serverPid,
                 String label, boolean encrypt, int clientsPerAddress) {

  /** The node's default sustained send limit per user (300 a minute). */
  static final double SUSTAINED_SEND_LIMIT_PER_SECOND = 5;

  BenchPlan {
    if (groupSize < 2 || groupSize > 256) {
      throw new IllegalArgumentException("--group-size must be 2 to 256");
    }
    if (clients < groupSize || clients % groupSize != 0) {
      throw new IllegalArgumentException("--clients must be a multiple of --group-size (" + groupSize
          + "), at least one group; for one-to-one conversations an even number of at least 2");
    }
    if (encrypt && groupSize != 2) {
      throw new IllegalArgumentException("--encrypt runs one-to-one conversations only (--group-size 2)");
    }
    if (clientsPerAddress < 0) {
      throw new IllegalArgumentException("--clients-per-address must not be negative");
    }
    if (!(rate > 0)) {
      throw new IllegalArgumentException("--rate must be positive");
    }
    if (payloadBytes < Payload.MIN_BYTES || payloadBytes > 65_536) {
      throw new IllegalArgumentException("--payload must be " + Payload.MIN_BYTES + " to 65536 bytes");
    }
    if (ackEvery < 1) {
      throw new IllegalArgumentException("--ack-every must be at least 1");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("--threads must be at least 1");
    }
    if (warmup.isNegative() || duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("--duration must be positive and --warmup not negative");
    }
  }

  int conversations() {
    return clients / groupSize;
  }

  /** The conversation client {@code client} takes part in: conversation k has clients k, k + c, k + 2c, … */
  int conversationOf(int client) {
    return client % conversations();
  }

  /** Messages a second each user sends. */
  double perUserRate() {
    return rate / clients;
  }

  /** Deliveries per message: every other member of the conversation receives it. */
  int recipientsPerMessage() {
    return groupSize - 1;
  }

  /** Messages sent during the warm-up; they come first in the schedule. */
  long warmupMessages() {
    return OpenLoopDriver.messagesIn(rate, warmup);
  }

  /** Messages sent during the measured window. */
  long measuredMessages() {
    return OpenLoopDriver.messagesIn(rate, duration);
  }

  /** When message {@code n} of the whole schedule is due, in nanoseconds after the schedule starts. */
  long dueNanos(long n) {
    return OpenLoopDriver.dueNanos(rate, n);
  }

  /**
   * How many messages the client with index {@code client} sends in the whole run: message {@code n} of the
   * schedule goes to client {@code n % clients}.
   */
  int messagesOf(int client) {
    long total = warmupMessages() + measuredMessages();
    return total > client ? Math.toIntExact((total - 1 - client) / clients + 1) : 0;
  }

  URI webSocketUri() {
    return url.resolve("/v1/ws");
  }

  URI devTokenUri() {
    String scheme = url.getScheme().equals("wss") ? "https" : "http";
    return URI.create(scheme + "://" + url.getRawAuthority() + "/v1/dev/token");
  }
}
