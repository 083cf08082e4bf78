package io.parley;

import io.parley.cluster.LocalCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Starts a cluster of node processes on this machine over one shared embedded store. */
@Command(name = "local-cluster", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Run a Parley cluster on this machine: the shared embedded store and Redis in this process, and",
      "--nodes 'parley server' processes that form one cluster through seed nodes. Node i listens on",
      "the base ports plus i-1 and logs to <data-dir>/logs/node-i.log. A node that exits is started",
      "again, so 'kill <pid>' node after node is a rolling restart. Ctrl-C stops everything."})
final class LocalClusterCommand implements Callable<Integer> {

  @Option(names = "--nodes", defaultValue = "3", description = "node processes (default: ${DEFAULT-VALUE})")
  int nodes;

  @Option(names = "--data-dir", defaultValue = "./data/local-cluster", description = "the store's file, shared secrets and logs (default: ${DEFAULT-VALUE})")
  Path dataDir;

  @Option(names = "--http-port", defaultValue = "8080", description = "HTTP port of node 1 (default: ${DEFAULT-VALUE})")
  int httpPort;

  @Option(names = "--management-port", defaultValue = "8558", description = "management port of node 1 (default: ${DEFAULT-VALUE})")
  int managementPort;

  @Option(names = "--remote-port", defaultValue = "25520", description = "remoting port of node 1 (default: ${DEFAULT-VALUE})")
  int remotePort;

  @Option(names = "--mongodb-port", defaultValue = "27017", description = "the shared store's port (default: ${DEFAULT-VALUE})")
  int mongodbPort;

  @Option(names = "--redis-port", defaultValue = "6379", description = "the shared Redis port (default: ${DEFAULT-VALUE})")
  int redisPort;

  @Option(names = "--in-memory", description = "keep nothing across restarts of the whole cluster")
  boolean inMemory;

  @Option(names = "--jvm-option", description = "option for each node's JVM, repeatable (default: -Xmx512m)")
  List<String> jvmOptions = List.of("-Xmx512m");

  @Override
  public Integer call() throws InterruptedException {
    LocalCluster cluster = LocalCluster.start(new LocalCluster.Options(nodes, dataDir, httpPort, managementPort,
        remotePort, mongodbPort, redisPort, inMemory, true, jvmOptions), System.out::println);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("stopping the nodes (coordinated shutdown), then the store");
      cluster.close();
      stopped.countDown();
    }, "parley-local-cluster-shutdown"));
    System.out.printf("store: PARLEY_MONGODB_URI=%s PARLEY_REDIS_URL=%s%n",
        cluster.stores().mongodbUri(), cluster.stores().redisUrl());
    cluster.awaitReady(Duration.ofMinutes(3));
    for (LocalCluster.Node node : cluster.nodes()) {
      System.out.printf("node %d (pid %d): ws://127.0.0.1:%d/v1/ws  management http://127.0.0.1:%d  log %s%n",
          node.ports().index(), node.pid(), node.ports().http(), node.ports().management(), node.log());
    }
    System.out.printf("Parley local cluster is up: %d nodes%n", nodes);
    stopped.await();
    return 0;
  }
}
