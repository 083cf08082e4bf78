package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class AgentRepliesTest {

  @Test
  void anEchoIsMatchedToItsMessageDirectlyOrThroughTheFrontDoor() {
    String sent = AgentReplies.text(7, 123);
    assertThat(sent).isEqualTo("bench 7 123");

    assertThat(AgentReplies.classify(AgentReplies.expected(sent, Optional.empty())))
        .isEqualTo(new AgentReplies.Echo(sent, Optional.empty()));
    assertThat(AgentReplies.classify("[Echo] Echo: bench 7 123"))
        .isEqualTo(new AgentReplies.Echo(sent, Optional.of("Echo")));
  }

  @Test
  void handoffsNoticesAndOtherAnswersAreNotEchoes() {
    assertThat(AgentReplies.classify("↪ Echo is taking over this conversation."))
        .isInstanceOf(AgentReplies.Handoff.class);
    AgentReplies.Reply down = AgentReplies.classify("⚠ Echo is not reachable right now. Your message is kept");
    assertThat(down).isInstanceOf(AgentReplies.Other.class);
    assertThat(AgentReplies.kind(down)).isEqualTo("agent-unreachable");
    assertThat(AgentReplies.classify("Echo: hello there")).isInstanceOf(AgentReplies.Other.class);
    assertThat(AgentReplies.classify("Echo: bench 7")).isInstanceOf(AgentReplies.Other.class);
    assertThat(AgentReplies.classify("Echo: bench 7 12x")).isInstanceOf(AgentReplies.Other.class);
    assertThat(AgentReplies.classify("[Echo Echo: bench 7 1")).isInstanceOf(AgentReplies.Other.class);
    assertThat(AgentReplies.kind(AgentReplies.classify("[Assistant (LLM)] The forwarder is not configured")))
        .isEqualTo("other");
  }

  @Test
  void statsCountRepliesDuplicatesStrangersAndMissingAndTimeOnlyTheWindow() {
    AgentBenchStats stats = new AgentBenchStats();
    stats.measureWindow(1_000_000_000L, 2_000_000_000L);
    stats.sent("bench 0 1", 500_000_000L);        // warm-up: counted, not timed
    stats.sent("bench 0 2", 1_000_000_000L);
    stats.sent("bench 1 1", 1_500_000_000L);

    stats.acked("bench 0 1", 510_000_000L);
    stats.acked("bench 0 2", 1_004_000_000L);
    stats.acked("bench 0 2", 1_009_000_000L);     // a second ack for one message counts once
    stats.fromAgent(AgentReplies.classify("Echo: bench 0 1"), 700_000_000L);
    stats.fromAgent(AgentReplies.classify("Echo: bench 0 2"), 1_020_000_000L);
    stats.fromAgent(AgentReplies.classify("Echo: bench 0 2"), 1_030_000_000L);
    stats.fromAgent(AgentReplies.classify("Echo: bench 9 9"), 1_040_000_000L);
    stats.fromAgent(AgentReplies.classify("↪ Echo is taking over this conversation."), 1_050_000_000L);

    AgentBenchStats.Counts counts = stats.counts();
    assertThat(counts.sent()).isEqualTo(3);
    assertThat(counts.sentMeasured()).isEqualTo(2);
    assertThat(counts.acked()).isEqualTo(2);
    assertThat(counts.replies()).isEqualTo(2);
    assertThat(counts.repliesMeasured()).isEqualTo(1);
    assertThat(counts.repliesInWindow()).isEqualTo(1);
    assertThat(counts.duplicates()).isEqualTo(1);
    assertThat(counts.unknown()).isEqualTo(1);
    assertThat(counts.handoffs()).isEqualTo(1);
    assertThat(counts.missing()).isEqualTo(1);
    assertThat(stats.unanswered()).isEqualTo(1);

    Histogram roundTrip = stats.roundTripHistogram();
    assertThat(roundTrip.getTotalCount()).isEqualTo(1);
    assertThat(roundTrip.valuesAreEquivalent(roundTrip.getMaxValue(), 20_000)).isTrue(); // 20 ms in µs
    Histogram ack = stats.ackHistogram();
    assertThat(ack.getTotalCount()).isEqualTo(1);
    assertThat(ack.valuesAreEquivalent(ack.getMaxValue(), 4_000)).isTrue();
  }

  @Test
  void aTextIsSentOnlyOncePerRun() {
    AgentBenchStats stats = new AgentBenchStats();
    stats.sent("bench 0 1", 0);
    assertThatThrownBy(() -> stats.sent("bench 0 1", 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
