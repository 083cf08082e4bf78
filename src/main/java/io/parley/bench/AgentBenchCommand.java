package io.parley.bench;

import java.net.URI;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code parley bench-agents}: users chatting with one agent through a running node, end to end. */
@Command(name = "bench-agents", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Measure conversations with an agent on a running node: N users (Parley client SDK,",
      "device stores in a temporary directory), each in a conversation with the agent, send",
      "on a fixed schedule (open loop) after one priming message each. Reports acked and",
      "answered messages, replies/s, missing and duplicate replies, and the latency from",
      "send to ack (stored) and to the agent's reply decrypted at the user. With the demo",
      "echo agent ('echo') or the front door ('assistant'), which hands the messages to it.",
      "Needs the node's dev token endpoint (embedded profile)."},
    footer = {"", "Exit status: 0 when every message was answered once, 1 otherwise, 2 on a setup failure."})
public final class AgentBenchCommand implements Callable<Integer> {

  @Option(names = "--server", defaultValue = "http://127.0.0.1:8080", description = "node to measure (default: ${DEFAULT-VALUE})")
  URI server;

  @Option(names = "--users", defaultValue = "20", description = "users, each with its own conversation with the agent (default: ${DEFAULT-VALUE})")
  int users;

  @Option(names = "--agent", defaultValue = "echo", description = "agent id: echo, or assistant for the front door (default: ${DEFAULT-VALUE})")
  String agent;

  @Option(names = "--rate", defaultValue = "50", description = "messages per second offered by all users together (default: ${DEFAULT-VALUE})")
  double rate;

  @Option(names = "--duration", defaultValue = "30", description = "measured seconds (default: ${DEFAULT-VALUE})")
  long durationSeconds;

  @Option(names = "--warmup", defaultValue = "5", description = "seconds of sending at the same rate before measuring (default: ${DEFAULT-VALUE})")
  long warmupSeconds;

  @Option(names = "--drain-timeout", defaultValue = "60", description = "seconds to wait after sending for outstanding acks and replies (default: ${DEFAULT-VALUE})")
  long drainSeconds;

  @Option(names = "--server-pid", description = "pid of the node's JVM on this machine, to report its CPU and heap")
  Long serverPid;

  @Option(names = "--label", defaultValue = "", description = "a name for this run in the summary")
  String label;

  @Override
  public Integer call() throws InterruptedException {
    AgentBench.Plan plan;
    try {
      plan = new AgentBench.Plan(server, users, agent, rate, Duration.ofSeconds(warmupSeconds),
          Duration.ofSeconds(durationSeconds), Duration.ofSeconds(drainSeconds),
          serverPid == null ? OptionalLong.empty() : OptionalLong.of(serverPid), label);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
    AgentBench bench = new AgentBench(plan, System.out);
    AgentBench.Result result;
    try {
      result = bench.run();
    } catch (RuntimeException e) {
      System.err.println("bench-agents failed: " + e.getMessage());
      return 2;
    }
    bench.print(result);
    return result.faulty() ? 1 : 0;
  }
}
