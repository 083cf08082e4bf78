package io.parley.store;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The H2 (MVStore) backend with acknowledgement after commit.
 *
 * <p>Every write command applies its change, then waits until the single committer thread has
 * committed (and, with {@code fsync}, synced) an MVStore version that contains it; only then does
 * the client get its answer. The committer drains all waiting writers with one commit (group
 * commit). Commits take the apply lock exclusively, so a commit never contains half of a command.
 *
 * <p>Reads see changes as soon as they are applied, before they are committed. A read that returns
 * data therefore waits until every write that had started before it finished is committed: nobody
 * is ever shown a write that a crash could still take back.
 *
 * <p>The MVStore must be opened with its background auto-commit and its memory-triggered commits
 * disabled, so that the committer is the only one that commits.
 */
final class GroupCommitH2Backend extends H2Backend {

  private static final Logger log = LoggerFactory.getLogger(GroupCommitH2Backend.class);



  /*
   * Every commit writes a new chunk holding the pages it changed, and a chunk's space is reused only
   * once none of its pages is live any more. Compaction rewrites the live pages of sparse chunks so
   * that their space frees up. It runs on its own thread in small slices: a slice holds the MVStore's
   * store lock, which a commit needs too, so a slice delays a commit by at most a few milliseconds
   * instead of making every writer wait for a whole compaction. H2's own background thread would
   * compact as well, but it also commits on its own, so it stays off.
   */
  private static final Duration COMPACT_INTERVAL = Duration.ofMillis(100);
  private static final int BUSY_COMPACT_FILL_RATE = 60;
  private static final int BUSY_COMPACT_WRITE_BYTES = 256 * 1024;
  private static final int IDLE_COMPACT_FILL_RATE = 80;
  private static final int IDLE_COMPACT_WRITE_BYTES = 2 * 1024 * 1024;
  /**
   * Chunks younger than this are neither compacted nor overwritten. H2 keeps them 45 s by default in
   * case the disk has not flushed them yet; here every commit is either synced (fsync on) or only
   * promised to survive a process kill, for which the operating system's cache suffices (fsync off).
   */
  static final int CHUNK_RETENTION_MILLIS = 2000;

  private final MVStore store;
  private final boolean fsync;

  /** Held shared while a write command applies, exclusively while the committer commits. */
  private final ReentrantReadWriteLock applyLock = new ReentrantReadWriteLock();
  /** Number of write commands that have started to apply; a write's ticket is its number. */
  private final AtomicLong started = new AtomicLong();

  private final ReentrantLock commitLock = new ReentrantLock();
  private final Condition commitWanted = commitLock.newCondition();
  private final Condition committedAdvanced = commitLock.newCondition();
  private final Condition compactorWake = commitLock.newCondition();
  /** Every write with a ticket up to this is durable. */
  private volatile long committed;
  private long requested; // guarded by commitLock
  /** The compactor rewrote pages that no write will commit: commit them even without writers. */
  private boolean rewritten; // guarded by commitLock
  private boolean closing; // guarded by commitLock
  private volatile Throwable failure;
  private volatile boolean stopped;

  private final Thread committer;
  private final Thread compactor;

  // committer-thread statistics, read by benchmarks
  private final AtomicLong commits = new AtomicLong();
  private final AtomicLong commitNanos = new AtomicLong();
  private final AtomicLong syncNanos = new AtomicLong();
  private final AtomicLong compactNanos = new AtomicLong();

  /** What the committer has done so far: counts and the time spent in each step. */
  record CommitStats(long commits, long writes, long commitNanos, long syncNanos, long compactNanos) {}

  CommitStats stats() {
    return new CommitStats(commits.get(), committed, commitNanos.get(), syncNanos.get(), compactNanos.get());
  }

  private GroupCommitH2Backend(MVStore store, boolean fsync) {
    super(store);
    this.store = store;
    this.fsync = fsync;
    this.committer = new Thread(this::runCommitter, "parley-store-committer");
    this.committer.setDaemon(true);
    this.compactor = new Thread(this::runCompactor, "parley-store-compactor");
    this.compactor.setDaemon(true);
  }

  static GroupCommitH2Backend open(MVStore store, boolean fsync) {
    store.setRetentionTime(CHUNK_RETENTION_MILLIS);
    GroupCommitH2Backend backend = new GroupCommitH2Backend(store, fsync);
    backend.committer.start();
    backend.compactor.start();
    return backend;
  }

  boolean isHealthy() {
    return failure == null && !stopped;
  }

  /**
   * Runs inside the superclass constructor too (for the databases already in the file), before this
   * class's fields are set: it uses only what the superclass provides.
   */
  @Override
  protected MongoDatabase openOrCreateDatabase(String databaseName) {
    MVStore mvStore = getMvStore();
    for (String map : BsonH2Database.mapsOpenedOnConstruction(databaseName)) {
      StoreFormat.openMap(mvStore, map);
    }
    return new BsonH2Database(databaseName, mvStore, getCursorRegistry());
  }

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    checkNotFailed();
    String name = WireCommands.name(command);
    WireCommands kind = WireCommands.of(name, query);
    if (kind == WireCommands.NO_DATA) {
      return super.handleCommand(channel, databaseName, command, query);
    }
    if (kind == WireCommands.READ) {
      Document result = super.handleCommand(channel, databaseName, command, query);
      awaitCommitted(started.get());
      return result;
    }
    return write(() -> super.handleCommand(channel, databaseName, command, query));
  }

  @Override
  public QueryResult handleQuery(MongoQuery query) {
    checkNotFailed();
    QueryResult result = super.handleQuery(query);
    awaitCommitted(started.get());
    return result;
  }


  private Document write(Supplier<Document> apply) {
    long ticket;
    Document result = null;
    RuntimeException failed = null;
    applyLock.readLock().lock();
    try {
      ticket = started.incrementAndGet();
      try {
        result = apply.get();
      } catch (RuntimeException e) {
        failed = e;
      }
    } finally {
      applyLock.readLock().unlock();
    }
    // a failed command may have applied part of its change: it too answers once that is durable
    awaitCommitted(ticket);
    if (failed != null) {
      throw failed;
    }
    return result;
  }

  private void awaitCommitted(long ticket) {
    if (committed >= ticket) {
      return;
    }
    commitLock.lock();
    try {
      if (requested < ticket) {
        requested = ticket;
        commitWanted.signal();
      }
      while (committed < ticket) {
        checkNotFailed();
        if (stopped) {
          throw new MongoServerError(1, "InternalError", "the Parley store is closed");
        }
        committedAdvanced.awaitUninterruptibly();
      }
    } finally {
      commitLock.unlock();
    }
  }

  private void checkNotFailed() {
    Throwable cause = failure;
    if (cause != null) {
      throw new MongoServerError(1, "InternalError", "the Parley store failed to commit and stopped: " + cause, cause);
    }
  }

  private void runCommitter() {
    try {
      while (true) {
        boolean stop;
        commitLock.lock();
        try {
          while (requested <= committed && !rewritten && !closing) {
            commitWanted.awaitUninterruptibly();
          }
          stop = closing;
          rewritten = false;
        } finally {
          commitLock.unlock();
        }
        groupCommit();
        if (stop) {
          break;
        }
      }
    } catch (Throwable e) {
      log.error("store commit failed; the store refuses all further commands", e);
      failure = e;
    } finally {
      commitLock.lock();
      try {
        stopped = true;
        committedAdvanced.signalAll();
      } finally {
        commitLock.unlock();
      }
    }
  }

  /**
   * Compacts a slice at a time: a little under load, more once no write has come for an interval.
   * The pages a slice rewrites are written by the next commit.
   */
  private void runCompactor() {
    long committedBefore = committed;
    while (awaitCompactInterval()) {
      boolean idle = committed == committedBefore;
      committedBefore = committed;
      long start = System.nanoTime();
      boolean rewrote;
      try {
        rewrote = idle
            ? store.compact(IDLE_COMPACT_FILL_RATE, IDLE_COMPACT_WRITE_BYTES)
            : store.compact(BUSY_COMPACT_FILL_RATE, BUSY_COMPACT_WRITE_BYTES);
      } catch (RuntimeException e) {
        if (store.isClosed()) {
          return;
        }
        log.warn("store compaction failed; it is retried later", e);
        rewrote = false;
      }
      compactNanos.addAndGet(System.nanoTime() - start);
      if (rewrote) {
        commitLock.lock();
        try {
          rewritten = true;
          commitWanted.signal();
        } finally {
          commitLock.unlock();
        }
      }
    }
  }

  /** False once the store is closing. */
  private boolean awaitCompactInterval() {
    commitLock.lock();
    try {
      long nanos = COMPACT_INTERVAL.toNanos();
      while (!closing && nanos > 0) {
        nanos = compactorWake.awaitNanos(nanos);
      }
      return !closing;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      commitLock.unlock();
    }
  }

  private void groupCommit() {
    long covered;
    boolean changed;
    long commitStart = System.nanoTime();
    applyLock.writeLock().lock();
    try {
      covered = started.get();
      changed = store.hasUnsavedChanges();
      if (changed) {
        store.commit();
      }
    } finally {
      applyLock.writeLock().unlock();
    }
    long syncStart = System.nanoTime();
    if (fsync && changed) {
      store.sync();
    }
    if (changed) {
      commits.incrementAndGet();
      commitNanos.addAndGet(syncStart - commitStart);
      syncNanos.addAndGet(System.nanoTime() - syncStart);
    }
    commitLock.lock();
    try {
      committed = covered;
      committedAdvanced.signalAll();
    } finally {
      commitLock.unlock();
    }
  }

  /** Waits until every write started so far is committed; commits happen only on the committer. */
  @Override
  public void commit() {
    awaitCommitted(started.get());
  }

  /** Commits what is pending, stops the committer and closes the MVStore. */
  @Override
  public void close() {
    commitLock.lock();
    try {
      closing = true;
      commitWanted.signal();
      compactorWake.signal();
    } finally {
      commitLock.unlock();
    }
    try {
      compactor.join();
      committer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (failure != null) {
      store.closeImmediately();
      return;
    }
    super.close();
  }
}
