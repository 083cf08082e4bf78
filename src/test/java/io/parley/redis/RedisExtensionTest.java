package io.parley.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.redisson.api.RedissonClient;

class RedisExtensionTest {

  @RegisterExtension
  static final RedisExtension redis = new RedisExtension();

  // each test writes a different key and sees only its own: the database is emptied in between
  @Test
  void firstTestSeesAnEmptyDatabase() {
    redis.connection().client().getBucket("first").set("1");

    assertThat(redis.connection().client().getKeys().count()).isEqualTo(1);
  }

  @Test
  void secondTestSeesAnEmptyDatabase(RedissonClient client) {
    client.getBucket("second").set("2");

    assertThat(client.getKeys().count()).isEqualTo(1);
  }

  @Nested
  class NestedTests {
    @Test
    void nestedClassesShareTheServer(RedisConnection connection) {
      assertThat(connection).isSameAs(redis.connection());
      assertThat(connection.isHealthy()).isTrue();
    }
  }
}
