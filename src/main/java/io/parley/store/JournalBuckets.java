package io.parley.store;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import pekko.contrib.persistence.mongodb.CanSuffixCollectionNames;

/**
 * Spreads the journal and snapshot collections over a fixed number of buckets by a stable hash of
 * the persistence id, so that recovering one entity scans one bucket instead of the whole journal.
 *
 * <p>The journal plugin instantiates this class reflectively through its no-argument constructor,
 * which leaves no way to hand it a setting: the bucket count is installed JVM-wide by
 * {@link MongoStore#start} before the actor system starts, and each instance captures it when the
 * plugin creates it. The count must never change for an existing database ({@link MongoStore}
 * refuses to start when it would), since events would then be looked up in the wrong bucket.
 */
public final class JournalBuckets implements CanSuffixCollectionNames {

  private static final AtomicInteger installed = new AtomicInteger();

  private final int count;
  /** The suffix of every bucket, computed once: the plugin asks for one on every journal write and read. */
  private final String[] suffixes;

  /** Used by the journal plugin: takes the bucket count installed by {@link MongoStore#start}. */
  public JournalBuckets() {
    this(installedCount());
  }

  public JournalBuckets(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("journal bucket count must be at least 1, was " + count);
    }
    this.count = count;
    int width = Integer.toString(count - 1).length();
    this.suffixes = new String[count];
    for (int bucket = 0; bucket < count; bucket++) {
      suffixes[bucket] = String.format("%0" + width + "d", bucket);
    }
  }

  /** Sets the bucket count for journal plugins created from now on in this JVM. */
  public static void install(int count) {
    installed.set(new JournalBuckets(count).count);
  }

  static int installedCount() {
    int count = installed.get();
    if (count == 0) {
      throw new IllegalStateException(
          "journal buckets not installed: start the MongoStore before the actor system");
    }
    return count;
  }

  public int count() {
    return count;
  }

  /** The bucket of a persistence id, in {@code [0, count)}; the same on every node and release. */
  public int bucketOf(String persistenceId) {
    CRC32 crc = new CRC32();
    crc.update(persistenceId.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % count);
  }

  /** The collection-name suffix of a bucket, zero-padded so that names sort by bucket. */
  public String suffixOf(int bucket) {
    return suffixes[bucket];
  }

  @Override
  public String getSuffixFromPersistenceId(String persistenceId) {
    return suffixOf(bucketOf(persistenceId));
  }

  /** Replaces the characters MongoDB forbids in collection names. */
  @Override
  public String validateMongoCharacters(String input) {
    StringBuilder valid = new StringBuilder(input.length());
    for (int i = 0; i < input.length(); i++) {
      char c = input.charAt(i);
      valid.append("$./\\*<>:|?\" \0".indexOf(c) >= 0 ? '_' : c);
    }
    return valid.toString();
  }
}
