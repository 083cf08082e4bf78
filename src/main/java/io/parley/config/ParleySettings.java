package io.parley.config;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** Parley's settings, read once from the {@code parley} section of the configuration. */
public record ParleySettings(
    Profile profile,
    ClusterSettings cluster,
    HttpSettings http,
    StoreSettings store,
    RedisSettings redis,
    AuthSettings auth,
    IdentitySettings identity,
    ConversationSettings conversation,
    SessionSettings session,
    ProtocolSettings protocol,
    DirectorySettings directory,
    PresenceSettings presence,
    RateLimitSettings rateLimits,
    AdminSettings admin,
    MetricsSettings metrics) {

  public enum Profile { EMBEDDED, PRODUCTION }

  public enum Formation { SINGLE, SEEDS, KUBERNETES }

  public record ClusterSettings(Formation formation, List<String> seedNodes) {}

  public record HttpSettings(String host, int port) {}

  public record StoreSettings(String mongodbUri, String database, int journalBuckets, EmbeddedStore embedded) {
    public boolean isEmbedded() {
      return mongodbUri.isBlank();
    }
  }

  public record EmbeddedStore(Path dataDir, boolean inMemory, String host, int port, boolean fsync) {}

  public record RedisSettings(String url, int embeddedPort) {
    public boolean isEmbedded() {
      return url.isBlank();
    }
  }

  public record AuthSettings(
      String issuer,
      String audience,
      String jwksUrl,
      String publicKeyPem,
      Duration clockSkew,
      boolean devTokensEnabled,
      Duration devTokenTtl,
      String adminToken,
      VerifiedTokenCache verifiedTokens) {}

  /** Tokens a node has verified, kept so each is checked once per node; {@code maxEntries} 0 turns it off. */
  public record VerifiedTokenCache(int maxEntries, Duration maxAge) {}

  public record IdentitySettings(String pepper) {}

  public record ConversationSettings(
      Duration dedupWindow, int dedupMaxKeys, int maxParticipants, int snapshotEvery, Duration deviceLookupTimeout) {}

  public record SessionSettings(
      int maxInFlight,
      int fetchBatch,
      Duration cursorFlushInterval,
      Duration receiptFlushInterval,
      Duration inboxFlushInterval,
      int outboundBuffer,
      Duration helloTimeout,
      int maxDevicesPerUser,
      Duration askTimeout,
      Duration inboxPassivateIdleAfter) {}

  public record ProtocolSettings(
      int maxFrameBytes, int maxEnvelopeBytes, int maxEnvelopes, int maxFetchRange) {}

  /**
   * The key directory: claims per requesting account per interval (cluster-wide, in Redis), the
   * one-time prekey count below which a device is told to upload more, the snapshot interval of an
   * account's directory, and the node-local device-list cache.
   */
  public record DirectorySettings(
      int claimRate, Duration claimInterval, int lowPreKeys, int snapshotEvery, int cacheMaxAccounts,
      Duration cacheTtl, Duration passivateIdleAfter) {}

  /**
   * Presence in Redis: while a user has a connected device, the node holding the connection refreshes
   * an entry that lives {@code ttl} every {@code heartbeatInterval}; last-seen is kept {@code lastSeenTtl}.
   * Each node checks the contacts it shows as online every {@code sweepInterval} (a lost node's users expire
   * without anyone announcing it). A presence read Redis has not answered within {@code redisTimeout}
   * reports offline.
   */
  public record PresenceSettings(
      Duration ttl, Duration heartbeatInterval, Duration lastSeenTtl, Duration sweepInterval, Duration redisTimeout) {}

  /** {@code permits} in any {@code interval}, over the whole cluster. */
  public record Limit(int permits, Duration interval) {}

  /**
   * Rate limits kept in Redis: sends per user (a short burst limit and a sustained one), ephemeral frames
   * per user and conversation (the same two kinds), WebSocket upgrades per client address, and how long a
   * check may wait for Redis before the request is let through. {@code trustedProxies}: peers whose
   * {@code X-Forwarded-For} names the client.
   */
  public record RateLimitSettings(
      boolean enabled, Limit sendBurst, Limit sendSustained, Limit ephemeralBurst, Limit ephemeralSustained,
      Limit connect, List<String> trustedProxies, Duration redisTimeout, Duration settleInterval) {}

  /**
   * Operator access (docs/adr/0015): whether the management port serves cluster changes (leave, down,
   * join) to callers with the admin token ({@code parley.auth.admin-token}); reads are always served.
   */
  public record AdminSettings(boolean clusterChanges) {}

  /**
   * The Prometheus endpoint: {@code GET /metrics} on host:port, refreshed every {@code tickInterval}.
   * {@code instrumentation}: also attach Kamon's agent, which instruments every actor, dispatcher and HTTP
   * request (for diagnosis; it costs CPU on every message, ADR 0015).
   */
  public record MetricsSettings(boolean enabled, String host, int port, Duration tickInterval,
                                boolean instrumentation) {}

  /** The admin token must be long enough that guessing it is hopeless. */
  public static final int MIN_ADMIN_TOKEN_CHARS = 32;

  public static ParleySettings from(Config root) {
    Config c = root.getConfig("parley");
    return new ParleySettings(
        Profile.valueOf(c.getString("profile").toUpperCase()),
        new ClusterSettings(
            Formation.valueOf(c.getString("cluster.formation").toUpperCase()),
            splitList(c.getString("cluster.seed-nodes"))),
        new HttpSettings(c.getString("http.host"), c.getInt("http.port")),
        new StoreSettings(
            c.getString("store.mongodb-uri"),
            c.getString("store.database"),
            c.getInt("store.journal-buckets"),
            new EmbeddedStore(
                Path.of(c.getString("store.embedded.data-dir")),
                c.getBoolean("store.embedded.in-memory"),
                c.getString("store.embedded.host"),
                c.getInt("store.embedded.port"),
                c.getBoolean("store.embedded.fsync"))),
        new RedisSettings(c.getString("redis.url"), c.getInt("redis.embedded.port")),
        new AuthSettings(
            c.getString("auth.issuer"),
            c.getString("auth.audience"),
            c.getString("auth.jwks-url"),
            c.getString("auth.public-key-pem"),
            c.getDuration("auth.clock-skew"),
            c.getBoolean("auth.dev-tokens.enabled"),
            c.getDuration("auth.dev-tokens.ttl"),
            c.getString("auth.admin-token"),
            new VerifiedTokenCache(c.getInt("auth.verified-tokens.max-entries"),
                c.getDuration("auth.verified-tokens.max-age"))),
        new IdentitySettings(c.getString("identity.pepper")),
        new ConversationSettings(
            c.getDuration("conversation.dedup-window"),
            c.getInt("conversation.dedup-max-keys"),
            c.getInt("conversation.max-participants"),
            c.getInt("conversation.snapshot-every"),
            c.getDuration("conversation.device-lookup-timeout")),
        new SessionSettings(
            c.getInt("session.max-in-flight"),
            c.getInt("session.fetch-batch"),
            c.getDuration("session.cursor-flush-interval"),
            c.getDuration("session.receipt-flush-interval"),
            c.getDuration("session.inbox-flush-interval"),
            c.getInt("session.outbound-buffer"),
            c.getDuration("session.hello-timeout"),
            c.getInt("session.max-devices-per-user"),
            c.getDuration("session.ask-timeout"),
            c.getDuration("session.inbox-passivate-idle-after")),
        new ProtocolSettings(
            c.getInt("protocol.max-frame-bytes"),
            c.getInt("protocol.max-envelope-bytes"),
            c.getInt("protocol.max-envelopes"),
            c.getInt("protocol.max-fetch-range")),
        new DirectorySettings(
            c.getInt("directory.claim-rate"),
            c.getDuration("directory.claim-interval"),
            c.getInt("directory.low-prekeys"),
            c.getInt("directory.snapshot-every"),
            c.getInt("directory.cache-max-accounts"),
            c.getDuration("directory.cache-ttl"),
            c.getDuration("directory.passivate-idle-after")),
        new PresenceSettings(
            c.getDuration("presence.ttl"),
            c.getDuration("presence.heartbeat-interval"),
            c.getDuration("presence.last-seen-ttl"),
            c.getDuration("presence.sweep-interval"),
            c.getDuration("presence.redis-timeout")),
        new RateLimitSettings(
            c.getBoolean("rate-limits.enabled"),
            limit(c, "rate-limits.send-burst"),
            limit(c, "rate-limits.send-sustained"),
            limit(c, "rate-limits.ephemeral-burst"),
            limit(c, "rate-limits.ephemeral-sustained"),
            limit(c, "rate-limits.connect"),
            splitList(c.getString("rate-limits.trusted-proxies")),
            c.getDuration("rate-limits.redis-timeout"),
            c.getDuration("rate-limits.settle-interval")),
        new AdminSettings(c.getBoolean("admin.cluster-changes")),
        new MetricsSettings(
            c.getBoolean("metrics.enabled"),
            c.getString("metrics.host"),
            c.getInt("metrics.port"),
            c.getDuration("metrics.tick-interval"),
            c.getBoolean("metrics.instrumentation")));
  }

  private static Limit limit(Config c, String path) {
    return new Limit(c.getInt(path + ".permits"), c.getDuration(path + ".interval"));
  }

  /**
   * Refuses settings that would run a production node unsafely: embedded stores, dev tokens, a pepper
   * generated per node (accounts would differ between nodes), or no way to verify tokens.
   */
  public ParleySettings validated() {
    if (session.maxInFlight() >= session.outboundBuffer()) {
      throw new IllegalArgumentException("parley.session.max-in-flight must be below parley.session.outbound-buffer,"
          + " or a device that reads but acknowledges slowly would be disconnected as too slow");
    }
    if (directory.claimRate() < 1 || directory.claimInterval().isNegative() || directory.claimInterval().isZero()) {
      throw new IllegalArgumentException("parley.directory.claim-rate and claim-interval must be positive");
    }
    if (directory.lowPreKeys() < 0 || directory.lowPreKeys() > 200) {
      throw new IllegalArgumentException("parley.directory.low-prekeys must be from 0 to 200 (the stored maximum)");
    }
    if (directory.snapshotEvery() < 1 || directory.cacheMaxAccounts() < 1) {
      throw new IllegalArgumentException("parley.directory.snapshot-every and cache-max-accounts must be positive");
    }
    validatePresence();
    validateRateLimits();
    if (!auth.adminToken().isBlank() && auth.adminToken().strip().length() < MIN_ADMIN_TOKEN_CHARS) {
      throw new IllegalArgumentException("parley.auth.admin-token (PARLEY_ADMIN_TOKEN) must have at least "
          + MIN_ADMIN_TOKEN_CHARS + " characters, e.g. openssl rand -hex 32");
    }
    if (admin.clusterChanges() && auth.adminToken().isBlank()) {
      throw new IllegalArgumentException("parley.admin.cluster-changes (PARLEY_ADMIN_CLUSTER_CHANGES) needs"
          + " parley.auth.admin-token (PARLEY_ADMIN_TOKEN): cluster changes are never served without credentials");
    }
    if (metrics.enabled() && (metrics.port() < 0 || metrics.port() > 65535
        || metrics.tickInterval().isNegative() || metrics.tickInterval().isZero())) {
      throw new IllegalArgumentException("parley.metrics.port must be 0-65535 and parley.metrics.tick-interval positive");
    }
    if (profile != Profile.PRODUCTION) {
      return this;
    }
    List<String> problems = new java.util.ArrayList<>();
    if (store.isEmbedded()) {
      problems.add("PARLEY_MONGODB_URI is required");
    }
    if (redis.isEmbedded()) {
      problems.add("PARLEY_REDIS_URL is required");
    }
    if (identity.pepper().isBlank()) {
      problems.add("PARLEY_IDENTITY_PEPPER is required (the same on every node)");
    }
    if (auth.devTokensEnabled()) {
      problems.add("dev tokens cannot be enabled in production");
    }
    if (auth.jwksUrl().isBlank() && auth.publicKeyPem().isBlank()) {
      problems.add("PARLEY_JWT_JWKS_URL or PARLEY_JWT_PUBLIC_KEY is required");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("production profile: " + String.join("; ", problems));
    }
    return this;
  }

  private void validatePresence() {
    if (!positive(presence.ttl()) || !positive(presence.heartbeatInterval()) || !positive(presence.lastSeenTtl())
        || !positive(presence.sweepInterval()) || !positive(presence.redisTimeout())) {
      throw new IllegalArgumentException("parley.presence durations must be positive");
    }
    if (presence.heartbeatInterval().multipliedBy(2).compareTo(presence.ttl()) > 0) {
      throw new IllegalArgumentException("parley.presence.heartbeat-interval must be at most half of"
          + " parley.presence.ttl, or a single late heartbeat shows an online user as offline");
    }
    if (presence.lastSeenTtl().compareTo(presence.ttl()) < 0) {
      throw new IllegalArgumentException("parley.presence.last-seen-ttl must be at least parley.presence.ttl");
    }
  }

  private void validateRateLimits() {
    for (var entry : java.util.Map.of("send-burst", rateLimits.sendBurst(), "send-sustained",
        rateLimits.sendSustained(), "ephemeral-burst", rateLimits.ephemeralBurst(), "ephemeral-sustained",
        rateLimits.ephemeralSustained(), "connect", rateLimits.connect()).entrySet()) {
      if (entry.getValue().permits() < 1 || !positive(entry.getValue().interval())) {
        throw new IllegalArgumentException("parley.rate-limits." + entry.getKey()
            + " needs positive permits and interval");
      }
    }
    if (!positive(rateLimits.redisTimeout())) {
      throw new IllegalArgumentException("parley.rate-limits.redis-timeout must be positive");
    }
    if (!positive(rateLimits.settleInterval())) {
      throw new IllegalArgumentException("parley.rate-limits.settle-interval must be positive");
    }
    for (String proxy : rateLimits.trustedProxies()) {
      if (!proxy.matches("[0-9A-Fa-f.:]+")) {
        throw new IllegalArgumentException("parley.rate-limits.trusted-proxies lists IP addresses; not: " + proxy);
      }
    }
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  private static List<String> splitList(String value) {
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
