package io.parley.agent.routing;

import io.parley.agent.AgentSettings.ClassifierSettings;
import io.parley.redis.KeyedHash;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.concurrent.Executor;
import org.redisson.api.RedissonClient;

/** The front door's classifier as the settings describe it. */
public final class IntentClassifiers {

  private IntentClassifiers() {}

  /**
   * The shared cache over the local Lucene classifier, or over the remote classifier with the local one as its
   * stand-in when {@code mode = remote}.
   *
   * @param names    the identity pepper's keyed hash
   * @param http     for the remote classifier (unused in local mode)
   * @param executor where local classification runs (e.g. a dispatcher for CPU work); {@code Runnable::run} for
   *                 the calling thread
   */
  public static CachedIntentClassifier create(ClassifierSettings settings, RedissonClient redis, KeyedHash names,
                                              HttpClient http, Executor executor, Clock clock) {
    FallbackPolicy policy = new FallbackPolicy(settings.threshold(), settings.fallbackAgent());
    IntentClassifier local = new LuceneIntentClassifier(policy, executor);
    IntentClassifier classifier = switch (settings.mode()) {
      case LOCAL -> local;
      case REMOTE -> new RemoteIntentClassifier(settings.remoteUrl().orElseThrow(), settings.remoteTimeout(), http,
          policy, local, clock);
    };
    return new CachedIntentClassifier(classifier, redis, names, settings.cacheTtl(), settings.cacheTimeout(), clock);
  }
}
