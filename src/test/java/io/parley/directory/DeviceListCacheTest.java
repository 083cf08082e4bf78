package io.parley.directory;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The node's device-list cache: served from memory, read again in the background by one caller once an entry is
 * due, refresh times spread so that lists cached together are not all read again at once.
 */
class DeviceListCacheTest {
  private static final Duration TTL = Duration.ofMinutes(4);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-12-04T12:00:00Z"));
  private final DeviceListCache cache = new DeviceListCache(10_000, TTL, clock);

  @Test
  void aFreshListIsServedWithoutARead() {
    cache.offer(list("a", 1));
    assertThat(cache.get("a")).hasValueSatisfying(cached -> {
      assertThat(cached.list().version()).isEqualTo(1);
      assertThat(cached.refresh()).isFalse();
    });
    assertThat(cache.get("unknown")).isEmpty();
  }

  @Test
  void aDueListIsStillServedAndOneCallerReadsItAgain() {
    cache.offer(list("a", 1));
    clock.advance(TTL.multipliedBy(3).dividedBy(4));
    assertThat(cache.get("a").map(DeviceListCache.Cached::refresh)).contains(true);
    assertThat(cache.get("a").map(DeviceListCache.Cached::refresh)).as("one refresh at a time").contains(false);
    cache.refreshFailed("a");
    assertThat(cache.get("a").map(DeviceListCache.Cached::refresh)).as("tried again after a failure").contains(true);
    cache.offer(list("a", 2)); // the read came back
    Optional<DeviceListCache.Cached> refreshed = cache.get("a");
    assertThat(refreshed.map(c -> c.list().version())).contains(2L);
    assertThat(refreshed.map(DeviceListCache.Cached::refresh)).contains(false);
  }

  @Test
  void aListNotReadAgainWithinTheTtlIsGone() {
    cache.offer(list("a", 1));
    clock.advance(TTL.minusMillis(1));
    assertThat(cache.get("a")).as("due, and served while it is read again").isPresent();
    clock.advance(Duration.ofMillis(1));
    assertThat(cache.get("a")).as("a lost change goes unnoticed for at most the ttl").isEmpty();
  }

  @Test
  void anOlderReadNeitherReplacesANewerListNorBlocksTheNextRefresh() {
    cache.offer(list("a", 5));
    clock.advance(TTL.multipliedBy(3).dividedBy(4));
    assertThat(cache.get("a").map(DeviceListCache.Cached::refresh)).contains(true);
    cache.offer(list("a", 4));
    assertThat(cache.get("a")).hasValueSatisfying(cached -> {
      assertThat(cached.list().version()).isEqualTo(5);
      assertThat(cached.refresh()).isTrue();
    });
  }

  @Test
  void listsCachedTogetherAreDueOverTheThirdQuarterOfTheTtl() {
    IntStream.range(0, 1000).forEach(i -> cache.offer(list("u" + i, 1)));
    clock.advance(TTL.dividedBy(2).minusMillis(1));
    assertThat(due()).as("none before half the ttl").isZero();
    clock.advance(TTL.dividedBy(8));
    long halfway = due();
    assertThat(halfway).as("some, not all, by five eighths").isBetween(1L, 999L);
    clock.advance(TTL.dividedBy(8));
    assertThat(halfway + due()).as("all by three quarters, a quarter of the ttl before it").isEqualTo(1000);
  }

  private long due() {
    return IntStream.range(0, 1000)
        .filter(i -> cache.get("u" + i).map(DeviceListCache.Cached::refresh).orElse(false))
        .count();
  }

  private static DeviceDirectory.DeviceList list(String account, long version) {
    return new DeviceDirectory.DeviceList(account, new TreeSet<>(List.of(1)), version);
  }
}
