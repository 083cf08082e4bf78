package io.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TypingSignalTest {
  /** A clock the test moves by hand. */
  private static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2025-05-01T12:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override public ZoneId getZone() { return ZoneOffset.UTC; }
    @Override public Clock withZone(ZoneId zone) { return this; }
    @Override public Instant instant() { return now; }
  }

  private final ManualClock clock = new ManualClock();
  private final List<String> sent = new ArrayList<>();
  private final TypingSignal signal = new TypingSignal(clock, (conversation, active) ->
      sent.add(conversation + (active ? " typing" : " stopped")));

  @Test
  void firstKeySignalsTypingAndFurtherKeysAreQuietUntilTheRepeatInterval() {
    signal.keystroke("c1");
    clock.advance(Duration.ofSeconds(1));
    signal.keystroke("c1");
    clock.advance(Duration.ofSeconds(1));
    signal.keystroke("c1");
    assertThat(sent).containsExactly("c1 typing");
    clock.advance(Duration.ofSeconds(1));
    signal.keystroke("c1");
    assertThat(sent).containsExactly("c1 typing", "c1 typing");
  }

  @Test
  void sendingTheLineStopsTyping() {
    signal.keystroke("c1");
    signal.stopped();
    signal.stopped();
    assertThat(sent).containsExactly("c1 typing", "c1 stopped");
    signal.keystroke("c1");
    assertThat(sent).containsExactly("c1 typing", "c1 stopped", "c1 typing");
  }

  @Test
  void aPauseStopsTypingOnTheNextTick() {
    signal.keystroke("c1");
    clock.advance(Duration.ofSeconds(4));
    signal.tick();
    assertThat(sent).containsExactly("c1 typing");
    clock.advance(Duration.ofSeconds(1));
    signal.tick();
    assertThat(sent).containsExactly("c1 typing", "c1 stopped");
  }

  @Test
  void switchingConversationsStopsTheFirst() {
    signal.keystroke("c1");
    signal.keystroke("c2");
    assertThat(sent).containsExactly("c1 typing", "c1 stopped", "c2 typing");
  }

  @Test
  void noConversationOpenSendsNothing() {
    signal.keystroke(null);
    signal.tick();
    signal.stopped();
    assertThat(sent).isEmpty();
  }
}
