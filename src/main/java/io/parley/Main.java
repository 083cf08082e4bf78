package io.parley;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The one Parley executable: {@code parley server}, {@code store}, {@code local-cluster}, {@code bench},
 * {@code bench-routing}, {@code bench-agents}, {@code bench-echo}, {@code agent-demo}, and the clients {@code chat}, {@code send},
 * {@code tail}.
 */
@Command(name = "parley", mixinStandardHelpOptions = true, version = "Parley 0.1.0",
    description = "Messaging for people and AI agents.",
    subcommands = {ServerCommand.class, StoreCommand.class, LocalClusterCommand.class,
        io.parley.bench.BenchCommand.class, io.parley.bench.RoutingBenchCommand.class,
        io.parley.bench.AgentBenchCommand.class, io.parley.bench.EchoBenchCommand.class,
        io.parley.bench.IdleBenchCommand.class, io.parley.cli.ChatCommand.class,
        io.parley.cli.SendCommand.class, io.parley.cli.TailCommand.class, io.parley.agent.demo.AgentDemoCommand.class})
public final class Main implements Runnable {

  /**
   * On fewer than three cores the JDK gives the common pool a parallelism of 1, and then CompletableFuture's
   * async steps (which every Pekko ask seen from Java and the JDK HTTP client go through) start a new
   * thread per task: thousands a second on a 2-core node. Two is the least at which the pool is used.
   */
  static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  public static void main(String[] args) {
    if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
      System.setProperty(COMMON_POOL_PARALLELISM,
          Integer.toString(Math.max(2, Runtime.getRuntime().availableProcessors() - 1)));
    }
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
