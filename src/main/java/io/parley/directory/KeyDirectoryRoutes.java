package io.parley.directory;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.parley.auth.Principal;
import io.parley.gateway.JsonRoutes;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The key directory's REST routes under {@code /v1/keys} (docs/protocol.md, "Key directory (REST)"), for
 * a principal the edge has already authenticated. Keys are checked here ({@link KeyChecks}) before the
 * account's {@link KeyDirectory} sees them; claims pass the requester's {@link ClaimRateLimiter} first.
 */
public final class KeyDirectoryRoutes extends AllDirectives {
  /** A full key set with 100 one-time prekeys is about 10 KB of JSON. */
  static final long MAX_BODY_BYTES = 64 * 1024;
  static final int MAX_DEVICE = 127;
  private static final Pattern ACCOUNT_ID = Pattern.compile("u_[A-Za-z0-9_-]{22}");
  private static final Pattern DEVICE = Pattern.compile("[1-9][0-9]{0,2}");
  private static final Base64.Encoder BASE64 = Base64.getEncoder();
  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  private final ClusterSharding sharding;
  private final ClaimRateLimiter limiter;
  private final Duration askTimeout;

  public KeyDirectoryRoutes(ActorSystem<?> system, ClaimRateLimiter limiter, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.limiter = limiter;
    this.askTimeout = askTimeout;
  }

  /** Everything below {@code /v1/keys}. */
  public Route routes(Principal principal) {
    String me = principal.accountId();
    return concat(
        pathPrefix("devices", () -> concat(
            path(segment(), device -> concat(
                put(() -> withDevice(device, d -> withBody(body -> putKeys(me, d, body)))),
                get(() -> withDevice(device, d -> status(me, d))),
                delete(() -> withDevice(device, d -> remove(me, d))))),
            path(segment().slash("prekeys"), device ->
                post(() -> withDevice(device, d -> withBody(body -> addPreKeys(me, d, body))))))),
        pathPrefix(segment(), account -> concat(
            pathEnd(() -> get(() -> withAccount(account, () -> claim(me, account, null)))),
            path("devices", () -> get(() -> withAccount(account, () -> deviceList(account)))),
            path(segment(), device -> get(() -> withAccount(account, () ->
                withDevice(device, d -> claim(me, account, d))))))));
  }

  // ---- the owner's routes ----

  private Route putKeys(String me, int device, JsonNode body) {
    DeviceKeys keys;
    try {
      keys = KeyChecks.keySet(body);
    } catch (KeyChecks.Invalid e) {
      return error(StatusCodes.BAD_REQUEST, e.code, e.getMessage());
    }
    return ask(me, replyTo -> new KeyDirectory.PutKeys(device, keys, replyTo), reply ->
        reply instanceof KeyDirectory.Stored stored
            ? json(StatusCodes.OK, Map.of("device", stored.device(), "oneTimePreKeys", stored.oneTimePreKeys()))
            : rejected(reply));
  }

  private Route addPreKeys(String me, int device, JsonNode body) {
    if (!KeyChecks.rotates(body)) {
      return storePreKeys(me, device, body, null);
    }
    // rotated keys are verified against the identity key the device published
    return ask(me, replyTo -> new KeyDirectory.GetStatus(device, replyTo), reply ->
        reply instanceof KeyDirectory.Status status
            ? storePreKeys(me, device, body, status.identityKey())
            : rejected(reply));
  }

  private Route storePreKeys(String me, int device, JsonNode body, byte[] identityKey) {
    KeyChecks.PreKeyUpload upload;
    try {
      upload = KeyChecks.preKeyUpload(body, identityKey);
    } catch (KeyChecks.Invalid e) {
      return error(StatusCodes.BAD_REQUEST, e.code, e.getMessage());
    }
    return ask(me, replyTo -> new KeyDirectory.AddPreKeys(device, upload.oneTimePreKeys(), upload.signedPreKey(),
            upload.kyberPreKey(), identityKey, replyTo), reply ->
        reply instanceof KeyDirectory.Stored stored
            ? json(StatusCodes.OK, Map.of("oneTimePreKeys", stored.oneTimePreKeys()))
            : rejected(reply));
  }

  private Route status(String me, int device) {
    return ask(me, replyTo -> new KeyDirectory.GetStatus(device, replyTo), reply ->
        reply instanceof KeyDirectory.Status status
            ? json(StatusCodes.OK, Map.of("device", status.device(), "oneTimePreKeys", status.oneTimePreKeys(),
                "low", status.low()))
            : rejected(reply));
  }

  private Route remove(String me, int device) {
    return ask(me, replyTo -> new KeyDirectory.RemoveDevice(device, replyTo), reply ->
        reply instanceof KeyDirectory.Removed
            ? complete(HttpResponse.create().withStatus(StatusCodes.NO_CONTENT))
            : rejected(reply));
  }

  // ---- anyone's routes ----

  private Route deviceList(String account) {
    return ask(account, KeyDirectory.GetDevices::new, reply -> {
      KeyDirectory.Devices devices = (KeyDirectory.Devices) reply;
      if (devices.devices().isEmpty()) {
        return error(StatusCodes.NOT_FOUND, "unknown_account", "the account has no devices");
      }
      return json(StatusCodes.OK, Map.of("accountId", account, "devices", devices.devices()));
    });
  }

  /** Claims one device's bundle ({@code device} given) or all of them, after the requester's rate limit. */
  private Route claim(String me, String account, Integer device) {
    return onSuccess(limiter.tryClaim(me), decision -> {
      if (!decision.allowed()) {
        long seconds = Math.max(1, (decision.retryAfterMs() + 999) / 1000);
        return respondWithHeader(RetryAfter.create(seconds), () -> json(StatusCodes.TOO_MANY_REQUESTS, Map.of(
            "error", "rate_limited", "message", "too many prekey claims; retry later",
            "retryAfterMs", decision.retryAfterMs())));
      }
      return ask(account, replyTo -> device == null
              ? new KeyDirectory.ClaimAll(replyTo)
              : new KeyDirectory.ClaimOne(device, replyTo),
          reply -> reply instanceof KeyDirectory.Bundles bundles
              ? complete(bundlesResponse(account, bundles))
              : rejected(reply));
    });
  }

  private static HttpResponse bundlesResponse(String account, KeyDirectory.Bundles bundles) {
    ObjectNode root = JSON.createObjectNode().put("accountId", account);
    var devices = root.putArray("devices");
    for (KeyDirectory.Bundle bundle : bundles.bundles()) {
      ObjectNode node = devices.addObject()
          .put("device", bundle.device())
          .put("registrationId", bundle.registrationId())
          .put("identityKey", BASE64.encodeToString(bundle.identityKey()));
      node.set("signedPreKey", signed(bundle.signedPreKey()));
      node.set("kyberPreKey", signed(bundle.kyberPreKey()));
      if (bundle.oneTimePreKey() != null) {
        node.putObject("oneTimePreKey")
            .put("keyId", bundle.oneTimePreKey().keyId())
            .put("publicKey", BASE64.encodeToString(bundle.oneTimePreKey().publicKey()));
      }
    }
    return HttpResponse.create().withStatus(StatusCodes.OK)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, root.toString()));
  }

  private static ObjectNode signed(SignedPreKey key) {
    return JSON.createObjectNode()
        .put("keyId", key.keyId())
        .put("publicKey", BASE64.encodeToString(key.publicKey()))
        .put("signature", BASE64.encodeToString(key.signature()));
  }

  // ---- plumbing ----

  private Route ask(String account, Function<ActorRef<KeyDirectory.Reply>, KeyDirectory.Command> command,
                    Function<KeyDirectory.Reply, Route> answer) {
    CompletionStage<KeyDirectory.Reply> reply = sharding.entityRefFor(KeyDirectory.ENTITY_KEY, account)
        .<KeyDirectory.Reply>ask(command::apply, askTimeout)
        .exceptionally(timeout -> null);
    return onSuccess(reply, r -> r == null
        ? error(StatusCodes.SERVICE_UNAVAILABLE, "unavailable", "the key directory did not answer in time; retry")
        : answer.apply(r));
  }

  private Route rejected(KeyDirectory.Reply reply) {
    KeyDirectory.Rejected rejected = (KeyDirectory.Rejected) reply;
    return switch (rejected.reason()) {
      case UNKNOWN_ACCOUNT -> error(StatusCodes.NOT_FOUND, "unknown_account", rejected.message());
      case UNKNOWN_DEVICE -> error(StatusCodes.NOT_FOUND, "unknown_device", rejected.message());
      case TOO_MANY_DEVICES -> error(StatusCodes.CONFLICT, "too_many_devices", rejected.message());
      case INVALID_KEYS -> error(StatusCodes.BAD_REQUEST, "invalid_keys", rejected.message());
      case INVALID_REQUEST -> error(StatusCodes.BAD_REQUEST, "invalid_request", rejected.message());
    };
  }

  private Route withDevice(String segment, Function<Integer, Route> inner) {
    if (!DEVICE.matcher(segment).matches() || Integer.parseInt(segment) > MAX_DEVICE) {
      return error(StatusCodes.BAD_REQUEST, "invalid_request", "a device is an integer from 1 to " + MAX_DEVICE);
    }
    return inner.apply(Integer.parseInt(segment));
  }

  private Route withAccount(String segment, java.util.function.Supplier<Route> inner) {
    if (!ACCOUNT_ID.matcher(segment).matches()) {
      return error(StatusCodes.BAD_REQUEST, "invalid_request", "not an account id");
    }
    return inner.get();
  }

  /** The request body as JSON, refused beyond {@link #MAX_BODY_BYTES}. */
  private Route withBody(Function<JsonNode, Route> inner) {
    return JsonRoutes.withJsonBody(MAX_BODY_BYTES, inner);
  }

  private Route error(StatusCode status, String code, String message) {
    return JsonRoutes.error(status, code, message);
  }

  private Route json(StatusCode status, Map<String, ?> body) {
    return JsonRoutes.json(status, body);
  }
}
