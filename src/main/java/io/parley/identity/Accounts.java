package io.parley.identity;

import com.mongodb.ErrorCategory;
import com.mongodb.MongoWriteException;
import com.mongodb.ReadConcern;
import com.mongodb.ReadPreference;
import com.mongodb.WriteConcern;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.text.Normalizer;
import java.time.Clock;
import java.util.Base64;
import java.util.Date;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bson.Document;

/**
 * Maps login handles to opaque account ids. A handle is never stored: the {@code accounts}
 * collection is keyed by an HMAC-SHA256 of the normalised handle under the {@link Pepper}.
 * Thread-safe.
 */
public final class Accounts {

  public static final String COLLECTION = "accounts";
  public static final int MAX_HANDLE_LENGTH = 64;

  private static final Pattern ACCOUNT_ID = Pattern.compile("u_[A-Za-z0-9_-]{22}");
  private static final String HMAC = "HmacSHA256";
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

  private final MongoCollection<Document> accounts;
  private final SecretKeySpec pepper;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  public Accounts(MongoDatabase db, byte[] pepper, Clock clock) {
    if (pepper.length < Pepper.MIN_CHARS) {
      throw new IllegalArgumentException("the pepper must be at least " + Pepper.MIN_CHARS + " bytes");
    }
    // an acknowledged mapping must survive a primary failover, or a handle could get a second id
    this.accounts = db.getCollection(COLLECTION)
        .withWriteConcern(WriteConcern.MAJORITY)
        .withReadConcern(ReadConcern.MAJORITY)
        .withReadPreference(ReadPreference.primary());
    this.pepper = new SecretKeySpec(pepper.clone(), HMAC);
    this.clock = clock;
  }

  /**
   * The account id of {@code handle}, created on first use. Concurrent calls for one handle, on any
   * node, return the same id.
   *
   * @throws IllegalArgumentException when the handle is not valid (see {@link #normalise})
   */
  public String accountIdFor(String handle) {
    String key = keyedHash(normalise(handle));
    Optional<String> existing = find(key);
    if (existing.isPresent()) {
      return existing.get();
    }
    String accountId = newAccountId();
    try {
      accounts.insertOne(new Document("_id", key)
          .append("accountId", accountId)
          .append("createdAt", Date.from(clock.instant())));
      return accountId;
    } catch (MongoWriteException e) {
      if (e.getError().getCategory() != ErrorCategory.DUPLICATE_KEY) {
        throw e;
      }
      // another caller created it between our read and our insert: theirs is the account
      return find(key).orElseThrow(() -> new IllegalStateException("account vanished after a duplicate key"));
    }
  }

  /** The account id of {@code handle}, if it has one. */
  public Optional<String> lookup(String handle) {
    return find(keyedHash(normalise(handle)));
  }

  public static boolean isAccountId(String s) {
    return s != null && ACCOUNT_ID.matcher(s).matches();
  }

  /**
   * NFKC, lower case, surrounding white space removed; then 1 to 64 letters, digits, '.', '_' or
   * '-'. The message of the exception never repeats the handle.
   */
  public static String normalise(String handle) {
    if (handle == null) {
      throw new IllegalArgumentException("handle is missing");
    }
    // lower-casing after NFKC: compatibility forms such as U+210C fold to capitals first
    String normalised = Normalizer.normalize(handle, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT).strip();
    int length = normalised.codePointCount(0, normalised.length());
    if (length < 1 || length > MAX_HANDLE_LENGTH) {
      throw new IllegalArgumentException("handle must be 1 to " + MAX_HANDLE_LENGTH + " characters");
    }
    boolean allowed = normalised.codePoints()
        .allMatch(c -> Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-');
    if (!allowed) {
      throw new IllegalArgumentException("handle may hold only letters, digits, '.', '_' and '-'");
    }
    return normalised;
  }

  private Optional<String> find(String key) {
    Document doc = accounts.find(Filters.eq("_id", key)).projection(Projections.include("accountId")).first();
    return Optional.ofNullable(doc).map(d -> d.getString("accountId"));
  }

  private String keyedHash(String normalisedHandle) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(pepper);
      return BASE64URL.encodeToString(mac.doFinal(normalisedHandle.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }

  private String newAccountId() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return "u_" + BASE64URL.encodeToString(bytes);
  }
}
