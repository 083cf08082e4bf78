package io.parley.conversation;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.conversation.DedupWindow.Entry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DedupWindowTest {
  private static final Duration WINDOW = Duration.ofMillis(100);
  private static final int MANY = 1_000;

  @Test
  void emptyWindowKnowsNothing() {
    DedupWindow window = DedupWindow.empty();

    assertThat(window.find("k1", 0, WINDOW)).isEmpty();
    assertThat(window.size()).isZero();
    assertThat(window.entriesOldestFirst()).isEmpty();
  }

  @Test
  void remembersAKeyUntilTheWindowHasPassed() {
    DedupWindow window = DedupWindow.empty().remember("k1", 7, 1_000, WINDOW, MANY);

    assertThat(window.find("k1", 1_000, WINDOW)).contains(new Entry("k1", 7, 1_000));
    assertThat(window.find("k1", 1_100, WINDOW)).as("the last millisecond of the window").isPresent();
    assertThat(window.find("k1", 1_101, WINDOW)).as("just after the window").isEmpty();
    assertThat(window.find("k2", 1_000, WINDOW)).isEmpty();
  }

  @Test
  void rememberingIsPersistent() {
    DedupWindow before = DedupWindow.empty().remember("k1", 1, 0, WINDOW, MANY);
    DedupWindow after = before.remember("k2", 2, 10, WINDOW, MANY);

    assertThat(before.size()).isEqualTo(1);
    assertThat(before.find("k2", 10, WINDOW)).isEmpty();
    assertThat(after.size()).isEqualTo(2);
    assertThat(after.find("k1", 10, WINDOW)).isPresent();
  }

  @Test
  void keysOlderThanTheWindowAreEvictedWhenANewKeyArrives() {
    DedupWindow window = DedupWindow.empty()
        .remember("k1", 1, 0, WINDOW, MANY)
        .remember("k2", 2, 50, WINDOW, MANY)
        .remember("k3", 3, 101, WINDOW, MANY);

    assertThat(window.size()).isEqualTo(2);
    assertThat(window.entriesOldestFirst()).extracting(Entry::key).containsExactly("k2", "k3");
    assertThat(window.find("k1", 0, WINDOW)).as("evicted, even when asked at its own time").isEmpty();
  }

  @Test
  void beyondTheBoundTheOldestKeysGoFirst() {
    DedupWindow window = DedupWindow.empty();
    for (int i = 1; i <= 5; i++) {
      window = window.remember("k" + i, i, i, WINDOW, 3);
    }

    assertThat(window.size()).isEqualTo(3);
    assertThat(window.entriesOldestFirst()).extracting(Entry::key).containsExactly("k3", "k4", "k5");
    assertThat(window.find("k2", 5, WINDOW)).isEmpty();
    assertThat(window.find("k3", 5, WINDOW)).map(Entry::seq).contains(3L);
  }

  @Test
  void aSupersededEntryIsListedOnceAndItsEvictionKeepsTheNewerOne() {
    DedupWindow window = DedupWindow.empty()
        .remember("k1", 1, 0, WINDOW, MANY)
        .remember("k2", 2, 10, WINDOW, MANY)
        .remember("k1", 3, 50, WINDOW, MANY);

    assertThat(window.size()).isEqualTo(2);
    assertThat(window.find("k1", 50, WINDOW)).map(Entry::seq).contains(3L);
    assertThat(window.entriesOldestFirst()).containsExactly(new Entry("k2", 2, 10), new Entry("k1", 3, 50));

    // at 120 the first k1 (at 0) and k2 (at 10) have left the window; the newer k1 (at 50) has not
    DedupWindow later = window.remember("k3", 4, 120, WINDOW, MANY);
    assertThat(later.find("k1", 120, WINDOW)).map(Entry::seq).contains(3L);
    assertThat(later.find("k2", 120, WINDOW)).isEmpty();
    assertThat(later.entriesOldestFirst()).extracting(Entry::key).containsExactly("k1", "k3");
  }

  @Test
  void aSupersededEntryDoesNotCountAgainstTheBound() {
    DedupWindow window = DedupWindow.empty()
        .remember("k1", 1, 0, WINDOW, 2)
        .remember("k1", 2, 1, WINDOW, 2)
        .remember("k2", 3, 2, WINDOW, 2);

    assertThat(window.size()).isEqualTo(2);
    assertThat(window.find("k1", 2, WINDOW)).map(Entry::seq).contains(2L);
    assertThat(window.find("k2", 2, WINDOW)).map(Entry::seq).contains(3L);
  }

  @Test
  void aKeyForgottenByTimeCanBeRememberedAgain() {
    DedupWindow window = DedupWindow.empty().remember("k1", 1, 0, WINDOW, MANY);
    assertThat(window.find("k1", 200, WINDOW)).isEmpty();

    window = window.remember("k1", 9, 200, WINDOW, MANY);

    assertThat(window.size()).isEqualTo(1);
    assertThat(window.find("k1", 200, WINDOW)).contains(new Entry("k1", 9, 200));
    assertThat(window.entriesOldestFirst()).containsExactly(new Entry("k1", 9, 200));
  }

  @Test
  void rebuildFromEntriesGivesTheSameWindow() {
    DedupWindow original = DedupWindow.empty()
        .remember("k1", 1, 0, WINDOW, 3)
        .remember("k2", 2, 10, WINDOW, 3)
        .remember("k1", 3, 20, WINDOW, 3)
        .remember("k3", 4, 30, WINDOW, 3);
    List<Entry> entries = original.entriesOldestFirst();

    DedupWindow rebuilt = DedupWindow.of(entries);

    assertThat(rebuilt.size()).isEqualTo(original.size());
    assertThat(rebuilt.entriesOldestFirst()).isEqualTo(entries);
    for (String key : List.of("k1", "k2", "k3")) {
      assertThat(rebuilt.find(key, 30, WINDOW)).isEqualTo(original.find(key, 30, WINDOW));
    }
    // both evict the same key next
    DedupWindow a = original.remember("k4", 5, 40, WINDOW, 3);
    DedupWindow b = rebuilt.remember("k4", 5, 40, WINDOW, 3);
    assertThat(b.entriesOldestFirst()).isEqualTo(a.entriesOldestFirst());
    assertThat(b.entriesOldestFirst()).extracting(Entry::key).containsExactly("k1", "k3", "k4");
  }

  @Test
  void rebuildFromNothingIsEmpty() {
    assertThat(DedupWindow.of(List.of()).size()).isZero();
  }

  @Test
  void aHundredThousandKeysWithinTheBound() {
    int n = 100_000;
    Duration day = Duration.ofDays(1);
    DedupWindow window = DedupWindow.empty();
    for (int i = 0; i < n; i++) {
      window = window.remember("key-" + i, i + 1, i, day, n);
      assertThat(window.find("key-" + i, i, day)).isPresent();
    }

    assertThat(window.size()).isEqualTo(n);
    assertThat(window.find("key-0", n, day)).map(Entry::seq).contains(1L);
    assertThat(DedupWindow.of(window.entriesOldestFirst()).size()).isEqualTo(n);
  }

  @Test
  void aHundredThousandKeysThroughASmallBoundAndAShortWindow() {
    int n = 100_000;
    DedupWindow bounded = DedupWindow.empty();
    DedupWindow timed = DedupWindow.empty();
    for (int i = 0; i < n; i++) {
      bounded = bounded.remember("key-" + i, i + 1, i, Duration.ofDays(1), 1_000);
      timed = timed.remember("key-" + i, i + 1, i, Duration.ofMillis(499), n);
    }

    assertThat(bounded.size()).isEqualTo(1_000);
    assertThat(bounded.find("key-" + (n - 1_001), n, Duration.ofDays(1))).isEmpty();
    assertThat(bounded.find("key-" + (n - 1_000), n, Duration.ofDays(1))).isPresent();
    assertThat(timed.size()).isEqualTo(500);
  }
}
