package io.parley.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class JournalBucketsTest {

  @Test
  void bucketIsStableAcrossInstancesAndReleases() {
    JournalBuckets buckets = new JournalBuckets(64);
    // CRC-32 of the UTF-8 bytes modulo the count: a fixed function, so existing journals stay readable
    assertThat(buckets.bucketOf("Conversation|c-1")).isEqualTo(new JournalBuckets(64).bucketOf("Conversation|c-1"));
    assertThat(buckets.bucketOf("123456789")).isEqualTo((int) (0xCBF43926L % 64));
    assertThat(buckets.getSuffixFromPersistenceId("123456789")).isEqualTo("38");
  }

  @Test
  void spreadsPersistenceIdsOverEveryBucket() {
    JournalBuckets buckets = new JournalBuckets(64);
    Set<String> suffixes = new TreeSet<>();
    IntStream.range(0, 2_000).forEach(i -> suffixes.add(buckets.getSuffixFromPersistenceId("Conversation|" + i)));
    assertThat(suffixes).hasSize(64).first().isEqualTo("00");
    assertThat(suffixes).last().isEqualTo("63");
  }

  @Test
  void suffixesArePaddedToTheWidthOfTheLargestBucket() {
    assertThat(new JournalBuckets(8).suffixOf(7)).isEqualTo("7");
    assertThat(new JournalBuckets(100).suffixOf(7)).isEqualTo("07");
    assertThat(new JournalBuckets(101).suffixOf(7)).isEqualTo("007");
  }

  @Test
  void replacesCharactersMongoDbForbidsInCollectionNames() {
    assertThat(new JournalBuckets(4).validateMongoCharacters("a.b$c/d e")).isEqualTo("a_b_c_d_e");
  }

  @Test
  void rejectsACountBelowOne() {
    assertThatThrownBy(() -> new JournalBuckets(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void thePluginConstructorTakesTheInstalledCount() {
    JournalBuckets.install(16);
    assertThat(new JournalBuckets().count()).isEqualTo(16);
  }
}
