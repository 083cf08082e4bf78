package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class BenchPlanTest {

  private static BenchPlan plan(String url, int clients, double rate) {
    return plan(url, clients, 2, rate, false);
  }

  private static BenchPlan plan(String url, int clients, int groupSize, double rate, boolean encrypt) {
    return new BenchPlan(URI.create(url), clients, groupSize, rate, Duration.ofSeconds(10), Duration.ofSeconds(30),
        256, 1, 2, Duration.ofSeconds(30), OptionalLong.empty(), "", encrypt, 25);
  }

  @Test
  void scheduleSpreadsMessagesEvenlyOverTheSecond() {
    BenchPlan plan = plan("ws://127.0.0.1:8080", 100, 4_000);
    assertThat(plan.dueNanos(0)).isZero();
    assertThat(plan.dueNanos(1)).isEqualTo(250_000);
    assertThat(plan.dueNanos(4_000)).isEqualTo(1_000_000_000);
    assertThat(plan.warmupMessages()).isEqualTo(40_000);
    assertThat(plan.measuredMessages()).isEqualTo(120_000);
    assertThat(plan.conversations()).isEqualTo(50);
  }

  @Test
  void endpointsFollowTheNodeUrl() {
    assertThat(plan("ws://127.0.0.1:8080", 2, 1).webSocketUri()).hasToString("ws://127.0.0.1:8080/v1/ws");
    assertThat(plan("ws://127.0.0.1:8080", 2, 1).devTokenUri()).hasToString("http://127.0.0.1:8080/v1/dev/token");
    assertThat(plan("wss://chat.example:443", 2, 1).devTokenUri())
        .hasToString("https://chat.example:443/v1/dev/token");
  }

  @Test
  void clientsComeInPairs() {
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 3, 1)).hasMessageContaining("even");
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 0, 1)).hasMessageContaining("even");
  }

  @Test
  void groupsSplitTheClientsEvenlyAndEveryOtherMemberReceives() {
    BenchPlan plan = plan("ws://127.0.0.1:8080", 2_000, 8, 3_000, false);
    assertThat(plan.conversations()).isEqualTo(250);
    assertThat(plan.recipientsPerMessage()).isEqualTo(7);
    assertThat(plan.conversationOf(0)).isZero();
    assertThat(plan.conversationOf(250)).isZero();
    assertThat(plan.conversationOf(1_999)).isEqualTo(249);
    assertThat(plan.perUserRate()).isEqualTo(1.5);
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 2_001, 8, 1, false)).hasMessageContaining("--group-size");
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 16, 1, 1, false)).hasMessageContaining("--group-size");
  }

  @Test
  void encryptionIsForOneToOneConversations() {
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 16, 8, 1, true)).hasMessageContaining("--encrypt");
    assertThat(plan("ws://127.0.0.1:8080", 16, 2, 1, true).encrypt()).isTrue();
  }

  @Test
  void rateMustBePositive() {
    assertThatThrownBy(() -> plan("ws://127.0.0.1:8080", 2, 0)).hasMessageContaining("--rate");
  }
}
