package io.parley.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.parley.config.ParleySettings.RedisSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.redisson.api.RBucket;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.client.codec.StringCodec;
import redis.embedded.RedisServer;

class RedisConnectionTest {

  @Test
  void bundledServerStoresAndReturnsValues() {
    try (RedisConnection redis = RedisConnection.start(new RedisSettings("", 0))) {
      RBucket<String> bucket = redis.client().getBucket("presence:u_x");
      bucket.set("online");

      assertThat(redis.client().<String>getBucket("presence:u_x").get()).isEqualTo("online");
      assertThat(redis.client().getConfig().getCodec()).isInstanceOf(StringCodec.class);
      assertThat(redis.isHealthy()).isTrue();
    }
  }

  @Test
  void bundledServerListensOnLoopbackOnlyAndWritesNoFiles() {
    try (RedisConnection redis = RedisConnection.start(new RedisSettings("", 0))) {
      Map<String, String> config = redis.client().getRedisNodes(RedisNodes.SINGLE).getInstance().getConfig("*");

      assertThat(config).containsEntry("bind", "127.0.0.1").containsEntry("save", "").containsEntry("appendonly", "no");
    }
  }

  @Test
  void bundledServerUsesTheConfiguredPort() throws IOException {
    int port = freePort();
    try (RedisConnection redis = RedisConnection.start(new RedisSettings("", port))) {
      assertThat(redis.client().getRedisNodes(RedisNodes.SINGLE).getInstance().getAddr().getPort()).isEqualTo(port);
    }
  }

  @Test
  void unhealthyOnceTheServerIsGone() {
    try (RedisConnection redis = RedisConnection.start(new RedisSettings("", 0))) {
      assertThat(redis.isHealthy()).isTrue();

      redis.stopEmbeddedServer();

      await().atMost(Duration.ofSeconds(5)).until(() -> !redis.isHealthy());
    }
  }

  @Test
  void closeIsIdempotent() {
    RedisConnection redis = RedisConnection.start(new RedisSettings("", 0));

    redis.close();
    redis.close();

    assertThat(redis.client().isShutdown()).isTrue();
    assertThat(redis.isHealthy()).isFalse();
  }

  @Test
  void connectsToAUrlWithPasswordAndDatabase() throws IOException {
    RedisServer server = passwordProtectedServer("s3cret+/=");
    try (RedisConnection redis = RedisConnection.start(
        new RedisSettings("redis://:s3cret%2B%2F%3D@127.0.0.1:" + server.ports().get(0) + "/3", 0))) {
      redis.client().<String>getBucket("k").set("v");

      assertThat(redis.client().<String>getBucket("k").get()).isEqualTo("v");
      assertThat(redis.isHealthy()).isTrue();
    } finally {
      server.stop();
    }
  }

  @Test
  void wrongPasswordFailsToStart() throws IOException {
    RedisServer server = passwordProtectedServer("right");
    try {
      assertThatThrownBy(() -> RedisConnection.start(
          new RedisSettings("redis://:wrong@127.0.0.1:" + server.ports().get(0), 0)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageNotContaining("wrong");
    } finally {
      server.stop();
    }
  }

  @Test
  void parsesRedisUrls() {
    assertThat(RedisConnection.Endpoint.parse("redis://cache.internal"))
        .isEqualTo(new RedisConnection.Endpoint("redis://cache.internal:6379", null, null, 0));
    assertThat(RedisConnection.Endpoint.parse("rediss://app:p%40ss+word@cache:6380/2"))
        .isEqualTo(new RedisConnection.Endpoint("rediss://cache:6380", "app", "p@ss+word", 2));
    assertThat(RedisConnection.Endpoint.parse("redis://onlypassword@cache").password()).isEqualTo("onlypassword");
    assertThat(RedisConnection.Endpoint.parse("redis://:pw@cache").toString()).doesNotContain("pw");
    assertThatThrownBy(() -> RedisConnection.Endpoint.parse("http://cache:6379"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RedisConnection.Endpoint.parse("redis://cache/zero"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static RedisServer passwordProtectedServer(String password) throws IOException {
    RedisServer server = RedisServer.newRedisServer()
        .bind("127.0.0.1")
        .port(freePort())
        .setting("save \"\"")
        .setting("requirepass \"" + password + "\"")
        .build();
    server.start();
    return server;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return socket.getLocalPort();
    }
  }
}
