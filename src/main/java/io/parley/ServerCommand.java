package io.parley;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Runs a Parley node until it is told to stop (SIGTERM runs coordinated shutdown). */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run a Parley node. Without PARLEY_MONGODB_URI / PARLEY_REDIS_URL it runs on embedded stores.")
final class ServerCommand implements Callable<Integer> {

  @Override
  public Integer call() throws Exception {
    ParleyNode node = ParleyNode.start();
    var address = node.httpAddress();
    System.out.printf("Parley is up: ws://%s:%d/v1/ws%n", address.getHostString(), address.getPort());
    node.whenStopped().toCompletableFuture().get();
    return 0;
  }
}
