package io.parley.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DeliveryCheckTest {

  @Test
  void consecutiveFramesAreSeenOnce() {
    DeliveryCheck check = new DeliveryCheck();
    for (long seq = 1; seq <= 5; seq++) {
      assertThat(check.frame("c-1", seq)).isEqualTo(DeliveryCheck.Seen.FIRST);
    }
    assertThat(check.highestSeen("c-1")).isEqualTo(5);
    assertThat(check.unseen("c-1", 5)).isZero();
    assertThat(check.repeated()).isZero();
    assertThat(check.gaps()).isZero();
  }

  @Test
  void aFrameAtOrBelowTheLastFrameIsRepeated() {
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 1);
    check.frame("c-1", 2);
    assertThat(check.frame("c-1", 2)).isEqualTo(DeliveryCheck.Seen.REPEATED);
    assertThat(check.frame("c-1", 1)).isEqualTo(DeliveryCheck.Seen.REPEATED);
    assertThat(check.repeated()).isEqualTo(2);
  }

  @Test
  void anOwnSeqEchoedAsAFrameIsNotARepeat() {
    // the server before the change: the sender's ack and then its own message as a frame
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 1);
    check.own("c-1", 2);
    assertThat(check.frame("c-1", 2)).isEqualTo(DeliveryCheck.Seen.ECHO_OF_OWN);
    assertThat(check.frame("c-1", 3)).isEqualTo(DeliveryCheck.Seen.FIRST);
    assertThat(check.repeated()).isZero();
    assertThat(check.gaps()).isZero();
    assertThat(check.unseen("c-1", 3)).isZero();
  }

  @Test
  void anOwnSeqSeenOnlyAsAnAckIsNeitherAGapNorLost() {
    // the server after the change: no frame for the device's own message, the ack carries its seq
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 1);
    check.own("c-1", 2);
    check.frame("c-1", 3);
    check.own("c-1", 4);
    assertThat(check.unseen("c-1", 4)).isZero();
    assertThat(check.gaps()).isZero();
    assertThat(check.repeated()).isZero();
  }

  @Test
  void anAckOvertakingEarlierFramesIsNotAGap() {
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 8);
    check.own("c-1", 10);
    assertThat(check.frame("c-1", 9)).isEqualTo(DeliveryCheck.Seen.FIRST);
    assertThat(check.repeated()).isZero();
    assertThat(check.unseen("c-1", 10)).isEqualTo(7); // 1..7 never came
    assertThat(check.gaps()).isEqualTo(7);
  }

  @Test
  void aSeqNeverSeenIsAGapBelowTheHighestAndUnseenAbove() {
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 1);
    check.frame("c-1", 3);
    check.own("c-1", 4);
    assertThat(check.gaps()).isEqualTo(1);
    assertThat(check.unseen("c-1", 6)).isEqualTo(3); // 2, 5 and 6
    assertThat(check.repeated()).isZero();
  }

  @Test
  void conversationsAreCheckedSeparately() {
    DeliveryCheck check = new DeliveryCheck();
    check.frame("c-1", 1);
    assertThat(check.frame("c-2", 1)).isEqualTo(DeliveryCheck.Seen.FIRST);
    assertThat(check.highestSeen("c-3")).isZero();
    assertThat(check.unseen("c-3", 2)).isEqualTo(2);
  }
}
