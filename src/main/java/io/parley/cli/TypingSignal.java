package io.parley.cli;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BiConsumer;

/**
 * Turns keystrokes into typing indicators: "typing" when the user starts (repeated every
 * {@link #REPEAT} while they keep typing), "stopped" when the line is sent or after {@link #IDLE} without a key.
 */
final class TypingSignal {
  static final Duration REPEAT = Duration.ofSeconds(3);
  static final Duration IDLE = Duration.ofSeconds(5);

  private final Clock clock;
  private final BiConsumer<String, Boolean> send;
  private String active;
  private Instant lastSent = Instant.MIN;
  private Instant lastKey = Instant.MIN;

  TypingSignal(Clock clock, BiConsumer<String, Boolean> send) {
    this.clock = clock;
    this.send = send;
  }

  /** A key was typed into a line for {@code conversationId} (null: no conversation open). */
  synchronized void keystroke(String conversationId) {
    if (conversationId == null) {
      return;
    }
    Instant now = clock.instant();
    if (active != null && !active.equals(conversationId)) {
      stopped();
    }
    lastKey = now;
    if (active == null || !now.isBefore(lastSent.plus(REPEAT))) {
      active = conversationId;
      lastSent = now;
      send.accept(conversationId, true);
    }
  }

  /** The line was sent or abandoned. */
  synchronized void stopped() {
    if (active != null) {
      send.accept(active, false);
      active = null;
      lastSent = Instant.MIN;
    }
  }

  /** Called now and then: stops the indicator once the user has paused for {@link #IDLE}. */
  synchronized void tick() {
    if (active != null && !clock.instant().isBefore(lastKey.plus(IDLE))) {
      stopped();
    }
  }
}
