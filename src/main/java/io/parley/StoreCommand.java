package io.parley;

import io.parley.store.StandaloneStores;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the embedded MongoDB-wire store and the bundled Redis without a node, for nodes in other processes. */
@Command(name = "store", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Run Parley's embedded MongoDB-wire store and the bundled Redis on their own, so that",
      "several 'parley server' processes on this machine share them. Point each node at them with",
      "PARLEY_MONGODB_URI and PARLEY_REDIS_URL (printed at start-up) and the same PARLEY_DATA_DIR",
      "(the nodes keep their shared dev token key and identity pepper there). For development only."})
final class StoreCommand implements Callable<Integer> {

  @Option(names = "--data-dir", defaultValue = "./data/shared", description = "where the store keeps its file (default: ${DEFAULT-VALUE})")
  Path dataDir;

  @Option(names = "--mongodb-port", defaultValue = "27017", description = "MongoDB-wire port on 127.0.0.1 (default: ${DEFAULT-VALUE})")
  int mongodbPort;

  @Option(names = "--redis-port", defaultValue = "6379", description = "Redis port on 127.0.0.1 (default: ${DEFAULT-VALUE})")
  int redisPort;

  @Option(names = "--in-memory", description = "keep nothing across restarts")
  boolean inMemory;

  @Override
  public Integer call() throws InterruptedException {
    StandaloneStores stores = StandaloneStores.start(dataDir, mongodbPort, redisPort, inMemory, true);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stores.close();
      stopped.countDown();
    }, "parley-store-shutdown"));
    System.out.printf("Parley store is up: PARLEY_MONGODB_URI=%s PARLEY_REDIS_URL=%s PARLEY_DATA_DIR=%s%n",
        stores.mongodbUri(), stores.redisUrl(), dataDir.toAbsolutePath().normalize());
    stopped.await();
    return 0;
  }
}
