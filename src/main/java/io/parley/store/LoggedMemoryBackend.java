package io.parley.store;

import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * mongo-java-server's memory backend made durable by a {@link CommandLog}.
 *
 * <p>A write command applies to memory and logs what it did, both under one lock so that the log's
 * order is the order of application; its answer waits until the log record is written (and, with
 * {@code fsync}, synced) by the log's group commit. Inserts, updates, deletes and findAndModify log
 * their effect on each document (the document inserted, the document that replaced another, the
 * {@code _id} removed), so replaying them needs neither the clock nor generated ids. Every other
 * write (create, createIndexes, drop, ...) logs the command itself, which replays deterministically.
 *
 * <p>Reads see changes as soon as they are applied. A read that returns data therefore waits until
 * every write that had started before it finished is durable: nobody is shown a write that a crash
 * could still take back.
 */
final class LoggedMemoryBackend extends MemoryBackend {



  /** Commands whose effect is logged document by document. */
  private static final Set<String> DOCUMENT_WRITES = Set.of("insert", "update", "delete", "findandmodify");

  /** Held while a write applies and queues its record: the log's order is the order of application. */
  private final ReentrantLock applyLock = new ReentrantLock();
  /** Number of write commands that have started to apply; a write's ticket is its number. */
  private final AtomicLong started = new AtomicLong();
  /** The document effects of the write applying on this thread, or null. */
  private final ThreadLocal<List<Document>> effects = new ThreadLocal<>();
  private volatile CommandLog log;

  LoggedMemoryBackend() {}

  /** From now on writes are logged to {@code log}; before, they only apply (replay). */
  void logTo(CommandLog log) {
    this.log = log;
  }

  boolean isHealthy() {
    CommandLog target = log;
    return target != null && target.isHealthy();
  }

  CommandLog.Stats stats() {
    return log.stats();
  }

  /** Writes what is queued and closes the log; the server has answered every command by now. */
  @Override
  public void close() {
    super.close();
    CommandLog target = log;
    if (target != null) {
      target.close();
    }
  }

  @Override
  public MemoryDatabase openOrCreateDatabase(String databaseName) {
    return new LoggedDatabase(databaseName, getCursorRegistry());
  }

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    CommandLog target = log;
    if (target == null) {
      return super.handleCommand(channel, databaseName, command, query);
    }
    target.checkHealthy();
    String name = WireCommands.name(command);
    WireCommands kind = WireCommands.of(name, query);
    if (kind == WireCommands.NO_DATA) {
      return super.handleCommand(channel, databaseName, command, query);
    }
    if (kind == WireCommands.READ) {
      Document result = super.handleCommand(channel, databaseName, command, query);
      target.awaitDurable(started.get());
      return result;
    }
    Supplier<Document> apply = () -> super.handleCommand(channel, databaseName, command, query);
    return DOCUMENT_WRITES.contains(name)
        ? write(target, apply, null)
        : write(target, apply, LogRecords.command(databaseName, command, query));
  }

  @Override
  public QueryResult handleQuery(MongoQuery query) {
    CommandLog target = log;
    QueryResult result = super.handleQuery(query);
    if (target != null) {
      target.awaitDurable(started.get());
    }
    return result;
  }


  /**
   * Applies a write and queues its record: {@code commandRecord}, or the document effects it had when
   * that is null. A failed command may have applied part of its change: that part is logged too, and
   * the failure is answered once it is durable.
   */
  private Document write(CommandLog target, Supplier<Document> apply, Document commandRecord) {
    long ticket;
    Document result = null;
    RuntimeException failed = null;
    List<Document> applied = new ArrayList<>();
    applyLock.lock();
    try {
      ticket = started.incrementAndGet();
      effects.set(commandRecord == null ? applied : null);
      try {
        result = apply.get();
      } catch (RuntimeException e) {
        failed = e;
      } finally {
        effects.remove();
      }
      ByteBuffer frame = null;
      if (commandRecord != null) {
        frame = CommandLog.frame(commandRecord);
      } else if (!applied.isEmpty()) {
        frame = CommandLog.frame(LogRecords.effects(applied));
      }
      target.append(ticket, frame);
    } finally {
      applyLock.unlock();
    }
    try {
      target.awaitDurable(ticket);
    } catch (IllegalStateException e) {
      throw new MongoServerError(1, "InternalError", e.getMessage(), e);
    }
    if (failed != null) {
      throw failed;
    }
    return result;
  }

  /**
   * Collects one document effect of the write applying on this thread. The server's own
   * {@code system.*} collections follow from creating collections and indexes, which replay recreates.
   */
  private void recordEffect(String collection, Supplier<Document> effect) {
    List<Document> list = effects.get();
    if (list != null && !collection.startsWith("system.")) {
      list.add(effect.get());
    }
  }

  private final class LoggedDatabase extends MemoryDatabase {
    LoggedDatabase(String databaseName, CursorRegistry cursorRegistry) {
      super(databaseName, cursorRegistry);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
      return new LoggedCollection(this, collectionName, options, LoggedMemoryBackend.this.getCursorRegistry());
    }
  }

  private final class LoggedCollection extends MemoryCollection {
    LoggedCollection(MemoryDatabase database, String collectionName, CollectionOptions options,
        CursorRegistry cursorRegistry) {
      super(database, collectionName, options, cursorRegistry);
    }

    @Override
    protected Integer addDocumentInternal(Document document) {
      Integer position = super.addDocumentInternal(document);
      recordEffect(getCollectionName(), () -> LogRecords.inserted(getDatabaseName(), getCollectionName(), List.of(document)));
      return position;
    }

    @Override
    protected void handleUpdate(Integer position, Document oldDocument, Document newDocument) {
      super.handleUpdate(position, oldDocument, newDocument);
      recordEffect(getCollectionName(), () -> LogRecords.replaced(getDatabaseName(), getCollectionName(), newDocument));
    }

    @Override
    protected void removeDocument(Integer position) {
      Object id = getDocument(position).get("_id");
      super.removeDocument(position);
      recordEffect(getCollectionName(), () -> LogRecords.removed(getDatabaseName(), getCollectionName(), id));
    }
  }
}
