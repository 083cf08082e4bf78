package io.parley.redis;

import io.parley.config.ParleySettings.RedisSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;
import org.redisson.config.ConstantDelay;
import org.redisson.config.SingleServerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

/**
 * Parley's Redis: a Redisson client for {@code parley.redis.url}, or for a bundled Redis server
 * started on 127.0.0.1 when the URL is blank. Values are plain strings (Redisson's
 * {@link StringCodec}); nothing is Java-serialized.
 */
public final class RedisConnection implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RedisConnection.class);

  static final String LOOPBACK = "127.0.0.1";
  private static final int DEFAULT_PORT = 6379;
  private static final int CONNECT_TIMEOUT_MS = 2_000;
  private static final int COMMAND_TIMEOUT_MS = 2_000;
  private static final int RETRY_ATTEMPTS = 2;
  private static final Duration RETRY_DELAY = Duration.ofMillis(200);
  private static final long PING_TIMEOUT_MS = 500;
  private static final int EMBEDDED_START_ATTEMPTS = 3;

  private final RedissonClient client;
  private final Optional<RedisServer> embedded;
  private final AtomicBoolean closed = new AtomicBoolean();

  private RedisConnection(RedissonClient client, Optional<RedisServer> embedded) {
    this.client = client;
    this.embedded = embedded;
  }

  /**
   * Connects to {@code settings.url()} ({@code redis://[[user]:password@]host[:port][/db]}, or
   * {@code rediss://} for TLS), or starts the bundled server when the URL is blank.
   *
   * @throws IllegalArgumentException for a malformed URL
   * @throws IllegalStateException when Redis cannot be started or reached
   */
  public static RedisConnection start(RedisSettings settings) {
    if (!settings.isEmbedded()) {
      Endpoint endpoint = Endpoint.parse(settings.url());
      log.info("Connecting to Redis at {}", endpoint.address());
      return new RedisConnection(connect(endpoint), Optional.empty());
    }
    RedisServer server = startEmbedded(settings.embeddedPort());
    int port = server.ports().get(0);
    log.info("Started the bundled Redis on {}:{}", LOOPBACK, port);
    try {
      return new RedisConnection(connect(new Endpoint("redis://" + LOOPBACK + ":" + port, null, null, 0)),
          Optional.of(server));
    } catch (RuntimeException e) {
      stopQuietly(server);
      throw e;
    }
  }

  public RedissonClient client() {
    return client;
  }

  /** The port of the bundled server on 127.0.0.1, when this connection started one. */
  public OptionalInt embeddedPort() {
    return embedded.map(server -> OptionalInt.of(server.ports().get(0))).orElseGet(OptionalInt::empty);
  }

  /** Whether Redis answers a PING within half a second. Never throws. */
  public boolean isHealthy() {
    if (closed.get()) {
      return false;
    }
    try {
      return client.getRedisNodes(RedisNodes.SINGLE).pingAll(PING_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Shuts the client down and stops the bundled server, if any. Safe to call more than once. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      client.shutdown(0, 2, TimeUnit.SECONDS);
    } finally {
      embedded.ifPresent(RedisConnection::stopQuietly);
    }
  }

  /** For tests: stops the bundled server under a live client, as a crash of Redis would. */
  void stopEmbeddedServer() {
    embedded.ifPresent(RedisConnection::stopQuietly);
  }

  private static RedissonClient connect(Endpoint endpoint) {
    Config config = new Config()
        .setCodec(StringCodec.INSTANCE)
        // Redisson's defaults (16 + 32 threads, 24 idle connections) are sized for big machines
        .setThreads(2)
        .setNettyThreads(4)
        .setTcpKeepAlive(true);
    SingleServerConfig server = config.useSingleServer()
        .setAddress(endpoint.address())
        .setDatabase(endpoint.database())
        .setClientName("parley")
        .setConnectTimeout(CONNECT_TIMEOUT_MS)
        .setTimeout(COMMAND_TIMEOUT_MS)
        .setRetryAttempts(RETRY_ATTEMPTS)
        .setRetryDelay(new ConstantDelay(RETRY_DELAY))
        .setConnectionMinimumIdleSize(2)
        .setConnectionPoolSize(16)
        .setSubscriptionConnectionMinimumIdleSize(1)
        .setSubscriptionConnectionPoolSize(4);
    if (endpoint.username() != null) {
      config.setUsername(endpoint.username());
    }
    if (endpoint.password() != null) {
      config.setPassword(endpoint.password());
    }
    try {
      return Redisson.create(config);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot connect to Redis at " + endpoint.address() + ": " + e.getMessage(), e);
    }
  }

  private static RedisServer startEmbedded(int configuredPort) {
    IOException last = null;
    for (int attempt = 0; attempt < EMBEDDED_START_ATTEMPTS; attempt++) {
      int port = configuredPort == 0 ? freePort() : configuredPort;
      try {
        RedisServer server = RedisServer.newRedisServer()
            .bind(LOOPBACK)
            .port(port)
            // a cache, presence and rate limits: nothing to keep, so no dump.rdb or appendonly.aof
            .setting("save \"\"")
            .setting("appendonly no")
            // its output must be drained, or the server blocks once the pipe is full; keep the
            // default log level: start() waits for the "Ready to accept connections" line
            .soutListener(line -> log.debug("redis: {}", line))
            .serrListener(line -> log.warn("redis: {}", line))
            .build();
        server.start();
        return server;
      } catch (IOException e) {
        last = e;
        if (configuredPort != 0) {
          break;
        }
        // the free port was taken between probing and binding: pick another
      }
    }
    throw new IllegalStateException("cannot start the bundled Redis", last);
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + LOOPBACK, e);
    }
  }

  private static void stopQuietly(RedisServer server) {
    try {
      server.stop();
    } catch (IOException e) {
      log.warn("Stopping the bundled Redis failed: {}", e.getMessage());
    }
  }

  /** A Redis URL taken apart, so that credentials go to Redisson separately from the address. */
  record Endpoint(String address, String username, String password, int database) {

    static Endpoint parse(String url) {
      URI uri;
      try {
        uri = new URI(url.strip());
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("parley.redis.url is not a URL");
      }
      String scheme = uri.getScheme();
      if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
        throw new IllegalArgumentException("parley.redis.url must start with redis:// or rediss://");
      }
      if (uri.getHost() == null) {
        throw new IllegalArgumentException("parley.redis.url names no host");
      }
      String username = null;
      String password = null;
      String userInfo = uri.getRawUserInfo();
      if (userInfo != null && !userInfo.isEmpty()) {
        int colon = userInfo.indexOf(':');
        if (colon < 0) {
          password = decode(userInfo);
        } else {
          username = colon == 0 ? null : decode(userInfo.substring(0, colon));
          password = decode(userInfo.substring(colon + 1));
        }
      }
      int database = 0;
      String path = uri.getPath();
      if (path != null && path.length() > 1) {
        try {
          database = Integer.parseInt(path.substring(1));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("parley.redis.url: the path must be a database number");
        }
      }
      int port = uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort();
      String host = uri.getHost().contains(":") && !uri.getHost().startsWith("[")
          ? "[" + uri.getHost() + "]" : uri.getHost();
      return new Endpoint(scheme + "://" + host + ":" + port, username, password, database);
    }

    private static String decode(String s) {
      // percent-decoding only: URLDecoder would also turn a literal '+' into a space
      return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "Endpoint[" + address + ", database " + database + "]";
    }
  }
}
