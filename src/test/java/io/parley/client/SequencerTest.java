package io.parley.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SequencerTest {
  private final Sequencer<Long> sequencer = new Sequencer<>(id -> Map.of("c-a", 10L).getOrDefault(id, 0L));

  @Test
  void releasesInOrderFromTheCursor() {
    assertThat(sequencer.offer("c-a", 11, 11L).events()).containsExactly(11L);
    assertThat(sequencer.offer("c-a", 12, 12L).events()).containsExactly(12L);
    assertThat(sequencer.offer("c-b", 1, 1L).events()).containsExactly(1L);
  }

  @Test
  void anOwnSeqFromAnAckWaitsForTheFramesBeforeItWithoutOpeningAGap() {
    Sequencer.Released<Long> own = sequencer.offerOwn("c-a", 12, 12L);
    assertThat(own.events()).as("11 may still be on its way").isEmpty();
    assertThat(own.gap()).as("an ack alone opens no gap").isEmpty();

    assertThat(sequencer.offer("c-a", 11, 11L).events()).containsExactly(11L, 12L);
    assertThat(sequencer.offerOwn("c-a", 12, 12L).events()).as("a repeated ack").isEmpty();
    assertThat(sequencer.offer("c-a", 12, 12L).events()).as("its frame, if one comes, is a repeat").isEmpty();
  }

  @Test
  void aPushedFrameAfterAnOwnSeqStillOpensTheGapBelowIt() {
    sequencer.offerOwn("c-a", 12, 12L);

    Sequencer.Released<Long> after = sequencer.offer("c-a", 13, 13L);

    assertThat(after.events()).isEmpty();
    assertThat(after.gap()).contains(new Sequencer.Gap("c-a", 11, 11));
  }

  @Test
  void dropsWhatCameBeforeAndRepeats() {
    assertThat(sequencer.offer("c-a", 10, 10L).events()).isEmpty();
    assertThat(sequencer.offer("c-a", 11, 11L).events()).containsExactly(11L);
    assertThat(sequencer.offer("c-a", 11, 11L).events()).isEmpty();
  }

  @Test
  void holdsBackAfterAGapAsksOnceAndReleasesWhenFilled() {
    Sequencer.Released<Long> first = sequencer.offer("c-a", 14, 14L);
    assertThat(first.events()).isEmpty();
    assertThat(first.gap()).contains(new Sequencer.Gap("c-a", 11, 13));
    assertThat(sequencer.offer("c-a", 15, 15L).gap()).as("one fetch at a time").isEmpty();
    assertThat(sequencer.offer("c-a", 12, 12L).events()).isEmpty();
    assertThat(sequencer.offer("c-a", 11, 11L).events()).containsExactly(11L, 12L);
    Sequencer.Released<Long> filled = sequencer.offer("c-a", 13, 13L);
    assertThat(filled.events()).containsExactly(13L, 14L, 15L);
    assertThat(sequencer.fetched("c-a", 11, 13).events()).isEmpty();
    assertThat(sequencer.expected("c-a")).isEqualTo(16);
  }

  @Test
  void seqsAFetchDidNotReturnAreNotVisibleAndArePassedOver() {
    Sequencer.Released<Long> joined = sequencer.offer("c-new", 7, 7L);
    assertThat(joined.gap()).contains(new Sequencer.Gap("c-new", 1, 6));
    assertThat(sequencer.fetched("c-new", 1, 6).events()).containsExactly(7L);
    assertThat(sequencer.offer("c-new", 8, 8L).events()).containsExactly(8L);
  }

  @Test
  void aLongGapIsFetchedInSlicesOfAtMost500() {
    Sequencer.Released<Long> far = sequencer.offer("c-b", 1201, 1201L);
    assertThat(far.gap()).contains(new Sequencer.Gap("c-b", 1, 500));
    List<Long> released = new ArrayList<>();
    for (long seq = 1; seq <= 500; seq++) {
      released.addAll(sequencer.offer("c-b", seq, seq).events());
    }
    Sequencer.Released<Long> next = sequencer.fetched("c-b", 1, 500);
    assertThat(next.gap()).contains(new Sequencer.Gap("c-b", 501, 1000));
    assertThat(released).hasSize(500).startsWith(1L, 2L).endsWith(500L);
  }

  @Test
  void afterAReconnectTheReplayIsDroppedUpToWhatWasReleased() {
    sequencer.offer("c-a", 11, 11L);
    sequencer.offer("c-a", 13, 13L);
    sequencer.reconnected();
    assertThat(sequencer.offer("c-a", 11, 11L).events()).isEmpty();
    assertThat(sequencer.offer("c-a", 12, 12L).events()).containsExactly(12L);
    assertThat(sequencer.offer("c-a", 13, 13L).events()).containsExactly(13L);
  }
}
