package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DeliveryCheckTest {

  @Test
  void consecutiveSeqsAreInOrder() {
    DeliveryCheck check = new DeliveryCheck();
    for (long seq = 1; seq <= 5; seq++) {
      assertThat(check.observe("c-1", seq)).isEqualTo(DeliveryCheck.Seen.NEXT);
    }
    assertThat(check.lastSeq("c-1")).isEqualTo(5);
    assertThat(check.repeated()).isZero();
    assertThat(check.skipped()).isZero();
  }

  @Test
  void aJumpCountsTheSkippedSeqs() {
    DeliveryCheck check = new DeliveryCheck();
    check.observe("c-1", 1);
    assertThat(check.observe("c-1", 4)).isEqualTo(DeliveryCheck.Seen.SKIPPED);
    assertThat(check.skipped()).isEqualTo(2);
    assertThat(check.lastSeq("c-1")).isEqualTo(4);
  }

  @Test
  void aSeqAtOrBelowTheLastIsRepeated() {
    DeliveryCheck check = new DeliveryCheck();
    check.observe("c-1", 1);
    check.observe("c-1", 2);
    assertThat(check.observe("c-1", 2)).isEqualTo(DeliveryCheck.Seen.REPEATED);
    assertThat(check.observe("c-1", 1)).isEqualTo(DeliveryCheck.Seen.REPEATED);
    assertThat(check.repeated()).isEqualTo(2);
    assertThat(check.lastSeq("c-1")).isEqualTo(2);
  }

  @Test
  void conversationsAreCheckedSeparately() {
    DeliveryCheck check = new DeliveryCheck();
    check.observe("c-1", 1);
    assertThat(check.observe("c-2", 1)).isEqualTo(DeliveryCheck.Seen.NEXT);
    assertThat(check.lastSeq("c-3")).isZero();
  }
}
