package io.parley.agent.routing;

import static io.parley.agent.routing.RoutingFixtures.FIXTURE;
import static io.parley.agent.routing.RoutingFixtures.fixtureWith;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.parley.agent.RegistrySnapshot;
import io.parley.config.ParleySettings.RedisSettings;
import io.parley.redis.KeyedHash;
import io.parley.redis.RedisConnection;
import io.parley.redis.RedisExtension;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/** The intent cache against a real Redis server. */
class CachedIntentClassifierTest {
  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  private static final KeyedHash NAMES = new KeyedHash("a pepper of at least thirty-two bytes".getBytes());
  private static final Duration TTL = Duration.ofHours(1);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final CountingClassifier inner = new CountingClassifier(
      new LuceneIntentClassifier(new FallbackPolicy(0.25, FIXTURE.fallbackAgent())));

  private CachedIntentClassifier cached(RedissonClient client) {
    return new CachedIntentClassifier(inner, client, NAMES, TTL, TIMEOUT, Clock.systemUTC());
  }

  private static IntentDecision classify(IntentClassifier classifier, String text, RegistrySnapshot snapshot) {
    return classifier.classify(text, snapshot).toCompletableFuture().join();
  }

  @Test
  void theSecondTimeATextIsRoutedTheDecisionComesFromRedis() {
    CachedIntentClassifier cache = cached(redis.connection().client());
    RegistrySnapshot snapshot = FIXTURE.snapshot(1);
    IntentDecision first = classify(cache, "Will it rain in Lisbon tomorrow?", snapshot);
    stored(1);
    IntentDecision second = classify(cache, "will it rain in   LISBON tomorrow", snapshot);

    assertThat(first.agentId()).isEqualTo("weather");
    assertThat(first.cached()).isFalse();
    assertThat(second).isEqualTo(new IntentDecision("weather", round(first.confidence()), false, true));
    assertThat(inner.calls.get()).isEqualTo(1);
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(cache.misses()).isEqualTo(1);
    assertThat(cache.failures()).isZero();
  }

  @Test
  void fallbackDecisionsAreCachedWithTheirFlag() {
    CachedIntentClassifier cache = cached(redis.connection().client());
    classify(cache, "xylophone quartz zebra", FIXTURE.snapshot(1));
    stored(1);
    IntentDecision again = classify(cache, "Xylophone quartz zebra!", FIXTURE.snapshot(1));
    assertThat(again).isEqualTo(new IntentDecision("helpdesk", 0.0, true, true));
  }

  @Test
  void aNewRegistryVersionIsAMissAndGetsItsOwnDecision() {
    CachedIntentClassifier cache = cached(redis.connection().client());
    String text = "recommend a recipe for dinner with pasta";
    assertThat(classify(cache, text, FIXTURE.snapshot(1)).agentId()).isEqualTo("helpdesk");
    RegistrySnapshot withRecipes = fixtureWith(2, RoutingFixtures.agent("recipes",
        "Cooking and recipes: dinner ideas, pasta, baking", true, true, "what can I cook tonight"));
    IntentDecision afterChange = classify(cache, text, withRecipes);
    assertThat(afterChange.agentId()).isEqualTo("recipes");
    assertThat(afterChange.cached()).isFalse();
    assertThat(cache.misses()).isEqualTo(2);
    stored(2);
    assertThat(classify(cache, text, withRecipes).cached()).isTrue();
  }

  @Test
  void redisHoldsNeitherTheTextNorAnyOfItsWordsOnlyTheDecisionWithAnHourToLive() {
    CachedIntentClassifier cache = cached(redis.connection().client());
    List<String> texts = List.of("My parcel arrived damaged, the box was crushed",
        "Refund the duplicate charge from yesterday please", "hello");
    texts.forEach(t -> classify(cache, t, FIXTURE.snapshot(1)));
    stored(texts.size());

    RedissonClient client = redis.connection().client();
    List<String> keys = new ArrayList<>();
    client.getKeys().getKeys().forEach(keys::add);
    assertThat(keys).hasSize(texts.size())
        .allSatisfy(k -> assertThat(k).matches("parley:intent:[A-Za-z0-9_-]{43}"));
    for (String key : keys) {
      String value = client.<String>getBucket(key, StringCodec.INSTANCE).get();
      assertThat(value).matches("1 [a-z][a-z0-9-]+ [01]\\.\\d{6} [01]");
      long ttl = client.getBucket(key, StringCodec.INSTANCE).remainTimeToLive();
      assertThat(ttl).isBetween(TTL.minusMinutes(1).toMillis(), TTL.toMillis());
      for (String text : texts) {
        for (String word : Utterance.normalise(text).split(" ")) {
          if (word.length() >= 4) {
            assertThat(key.toLowerCase()).doesNotContain(word);
            assertThat(value).doesNotContain(word);
          }
        }
      }
    }
  }

  @Test
  void whenRedisIsGoneEveryTextIsClassifiedDirectlyAndTheFailuresAreCounted() {
    RedisConnection lost = RedisConnection.start(new RedisSettings("", 0));
    CachedIntentClassifier cache = cached(lost.client());
    assertThat(classify(cache, "where is my package", FIXTURE.snapshot(1)).agentId()).isEqualTo("orders");
    await().until(() -> lost.client().getKeys().count() == 1);
    lost.close();

    IntentDecision decision = classify(cache, "where is my package", FIXTURE.snapshot(1));
    assertThat(decision.agentId()).isEqualTo("orders");
    assertThat(decision.cached()).isFalse();
    assertThat(cache.hits()).isZero();
    assertThat(cache.misses()).isEqualTo(2);
    assertThat(cache.failures()).isGreaterThanOrEqualTo(1);
    assertThat(inner.calls.get()).isEqualTo(2);
  }

  @Test
  void anUnusableValueIsAMiss() {
    CachedIntentClassifier cache = cached(redis.connection().client());
    RegistrySnapshot snapshot = FIXTURE.snapshot(1);
    String text = "how do I update the app";
    RedissonClient client = redis.connection().client();
    var bucket = client.<String>getBucket(cache.keyOf(text, snapshot), StringCodec.INSTANCE);
    for (String junk : List.of("garbage", "1 nobody 0.900000 0", "1 tech-support 1.5 0", "2 tech-support 0.9 0")) {
      bucket.set(junk);
      IntentDecision decision = classify(cache, text, snapshot);
      assertThat(decision.agentId()).as(junk).isEqualTo("tech-support");
      assertThat(decision.cached()).as(junk).isFalse();
      // the miss writes its decision back without being awaited; the next junk must not race with it
      await().until(() -> bucket.get().startsWith("1 tech-support 0."));
    }
    assertThat(cache.hits()).isZero();
  }

  /** The writes behind the decisions so far have reached Redis (they are not awaited by routing). */
  private static void stored(long keys) {
    await().until(() -> redis.connection().client().getKeys().count() == keys);
  }

  private static double round(double confidence) {
    return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.6f", confidence));
  }

  /** Counts the texts that reach the classifier behind the cache. */
  private static final class CountingClassifier implements IntentClassifier {
    final AtomicInteger calls = new AtomicInteger();
    private final IntentClassifier inner;

    CountingClassifier(IntentClassifier inner) {
      this.inner = inner;
    }

    @Override
    public CompletionStage<IntentDecision> classify(String text, RegistrySnapshot snapshot) {
      calls.incrementAndGet();
      return inner.classify(text, snapshot);
    }
  }
}
