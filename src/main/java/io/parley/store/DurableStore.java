package io.parley.store;

import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the durable embedded store of a data directory: the memory backend rebuilt from the command
 * log, then logging every write to it.
 *
 * <ul>
 *   <li>A store written by an earlier release ({@value #LEGACY_FILE}, H2 MVStore) is converted once: its
 *       contents become the log, and the old file is renamed to {@value #LEGACY_FILE}{@value #CONVERTED}
 *       (kept for the user to delete).
 *   <li>A log that holds many more operations than live documents (updates, deletes, dropped
 *       collections) is rewritten as the dump of its state before the node starts writing to it.
 * </ul>
 */
final class DurableStore {

  private static final Logger log = LoggerFactory.getLogger(DurableStore.class);

  static final String LOG_FILE = "store.log";
  static final String LEGACY_FILE = "store.mv";
  static final String CONVERTED = ".converted";

  /** Rewrite the log on open once it holds this many times more operations than its dump would. */
  private static final int REWRITE_RATIO = 2;
  private static final int REWRITE_MIN_OPS = 10_000;

  private DurableStore() {}

  static Path logFile(Path dataDir) {
    return dataDir.resolve(LOG_FILE);
  }

  static LoggedMemoryBackend open(Path dataDir, boolean fsync) {
    Path logFile = logFile(dataDir);
    Path legacy = dataDir.resolve(LEGACY_FILE);
    if (Files.exists(legacy)) {
      if (!Files.exists(logFile)) {
        convert(legacy, logFile);
      }
      move(legacy, legacy.resolveSibling(LEGACY_FILE + CONVERTED));
    }
    EmbeddedChannel channel = new EmbeddedChannel();
    LoggedMemoryBackend backend = new LoggedMemoryBackend();
    long started = System.nanoTime();
    long[] ops = {0};
    long length = CommandLog.read(logFile, record -> ops[0] += LogRecords.replay(backend, channel, record));
    List<Document> dump = StoreDump.records(backend, channel);
    long dumpOps = dump.stream().mapToLong(LogRecords::opsOf).sum();
    log.info("store log replayed: {} operations in {} ms", ops[0], (System.nanoTime() - started) / 1_000_000);
    if (ops[0] > REWRITE_MIN_OPS && ops[0] > REWRITE_RATIO * dumpOps) {
      CommandLog.rewrite(logFile, dump);
      length = sizeOf(logFile);
      log.info("store log rewritten as its {} live operations", dumpOps);
    }
    backend.logTo(CommandLog.openForAppend(logFile, length, fsync));
    return backend;
  }

  private static void convert(Path legacy, Path logFile) {
    log.info("converting the store file {} of an earlier release into the store log (once)", legacy);
    MVStore store = StoreFormat.open(legacy);
    GroupCommitH2Backend old = GroupCommitH2Backend.open(store, false);
    try {
      List<Document> records = StoreDump.records(old, new EmbeddedChannel());
      CommandLog.rewrite(logFile, records);
      log.info("converted {} into {} records; the old file is kept as {}{}", legacy, records.size(), LEGACY_FILE,
          CONVERTED);
    } finally {
      old.close();
    }
  }

  private static void move(Path from, Path to) {
    try {
      Files.move(from, to, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      CommandLog.syncDirectory(from.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot rename the converted store file " + from, e);
    }
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
