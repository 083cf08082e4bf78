package io.parley.limits;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.api.options.OptionalOptions;
import org.redisson.client.codec.StringCodec;

/**
 * A Lua script run by its digest once Redis has it, and loaded again when Redis has lost it (a restart or a
 * {@code SCRIPT FLUSH}): one round trip per call in the common case. Every call ends within {@code timeout}
 * (loading included), and any failure, even one Redisson throws instead of returning, is a failed future. Never
 * retried by Redisson: a limit script that reached Redis but answered late would otherwise count its permits
 * twice. Thread-safe.
 */
final class CachedScript {
  private final RScript script;
  private final String source;
  private final RScript.ReturnType returnType;
  private final long timeoutMs;
  private volatile String sha;

  CachedScript(RedissonClient redis, String source, RScript.ReturnType returnType, Duration timeout) {
    this.script = redis.getScript(OptionalOptions.defaults().codec(StringCodec.INSTANCE).timeout(timeout)
        .retryAttempts(0));
    this.source = source;
    this.returnType = returnType;
    this.timeoutMs = timeout.toMillis();
  }

  <R> CompletableFuture<R> evaluate(List<Object> keys, Object... arguments) {
    CompletionStage<R> answer;
    try {
      answer = evaluateByDigest(keys, arguments);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    return answer.toCompletableFuture().orTimeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  private <R> CompletionStage<R> evaluateByDigest(List<Object> keys, Object... arguments) {
    String digest = sha;
    if (digest == null) {
      return load().thenCompose(loaded -> evaluateByDigest(keys, arguments));
    }
    return script.<R>evalShaAsync(RScript.Mode.READ_WRITE, digest, returnType, keys, arguments)
        .exceptionallyCompose(failure -> isNoScript(failure)
            ? load().thenCompose(loaded -> script.<R>evalShaAsync(RScript.Mode.READ_WRITE, loaded, returnType, keys,
                arguments))
            : CompletableFuture.failedFuture(failure));
  }

  private CompletionStage<String> load() {
    return script.scriptLoadAsync(source).thenApply(loaded -> {
      sha = loaded;
      return loaded;
    });
  }

  private static boolean isNoScript(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause.getMessage() != null && cause.getMessage().contains("NOSCRIPT")) {
        return true;
      }
    }
    return false;
  }
}
