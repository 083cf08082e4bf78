package io.parley.redis;

import io.parley.config.ParleySettings.RedisSettings;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.redisson.api.RedissonClient;

/**
 * Starts one bundled Redis server for a test class (shared with its nested classes), empties it
 * before every test and stops it after the class.
 *
 * <pre>
 * &#64;RegisterExtension static final RedisExtension redis = new RedisExtension();
 * ... redis.connection().client() ...
 * </pre>
 *
 * or {@code @ExtendWith(RedisExtension.class)} with a {@link RedisConnection} or
 * {@link RedissonClient} parameter on a test method, constructor or lifecycle method.
 */
public final class RedisExtension implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RedisExtension.class);

  private volatile RedisConnection connection;

  /** The connection of the running test class; valid from {@code @BeforeAll} on. */
  public RedisConnection connection() {
    if (connection == null) {
      throw new IllegalStateException("Redis is started in beforeAll: register RedisExtension as a static field");
    }
    return connection;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    // the store closes the AutoCloseable connection when the class that created it is done;
    // nested classes find their parent's in the store and reuse it
    connection = context.getStore(NAMESPACE).getOrComputeIfAbsent(
        RedisConnection.class, key -> RedisConnection.start(new RedisSettings("", 0)), RedisConnection.class);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    connection.client().getKeys().flushdb();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    Class<?> type = parameter.getParameter().getType();
    return type == RedisConnection.class || type == RedissonClient.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == RedissonClient.class ? connection().client() : connection();
  }
}
