package io.parley.store;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import io.parley.config.ParleySettings.EmbeddedStore;
import java.io.PrintStream;
import java.nio.file.Path;
import org.bson.Document;

/**
 * Run in a child process by {@link EmbeddedMongoServerDurabilityTest}: starts the embedded store on
 * a data directory and inserts from several threads, printing {@code ACK <id>} for every insert the
 * server has acknowledged, until the process is killed or its parent goes away (stdin closes).
 *
 * <p>Arguments: data directory, writer threads, fsync (true/false).
 */
public final class DurabilityWriter {

  static final String READY = "READY";
  static final String ACK = "ACK ";
  static final String DATABASE = "durability";
  static final String COLLECTION = "acks";

  private DurabilityWriter() {}

  public static void main(String[] args) throws Exception {
    Path dataDir = Path.of(args[0]);
    int writers = Integer.parseInt(args[1]);
    boolean fsync = Boolean.parseBoolean(args[2]);
    PrintStream out = System.out;

    EmbeddedMongoServer server = EmbeddedMongoServer.start(new EmbeddedStore(dataDir, false, "127.0.0.1", 0, fsync));
    MongoClient client = MongoClients.create(server.connectionString());
    MongoCollection<Document> acks = client.getDatabase(DATABASE).getCollection(COLLECTION);
    String payload = "x".repeat(256);
    synchronized (out) {
      out.println(READY);
      out.flush();
    }
    for (int w = 0; w < writers; w++) {
      String writer = "w" + w;
      Thread thread = new Thread(() -> {
        for (long i = 0; ; i++) {
          String id = writer + "-" + i;
          acks.insertOne(new Document("_id", id).append("payload", payload));
          synchronized (out) {
            out.println(ACK + id);
            out.flush();
          }
        }
      }, "writer-" + w);
      thread.setDaemon(true);
      thread.start();
    }
    // the parent kills this process; should the parent die first, its end of stdin closes
    while (System.in.read() != -1) {
      // nothing to read; only the end matters
    }
    Runtime.getRuntime().halt(0);
  }
}
