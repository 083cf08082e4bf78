package io.parley.bench;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Measures what idle connections cost a node, and how it takes them all arriving at once. */
@Command(name = "bench-idle", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Measure a running Parley node holding N idle connections: logs N users in (dev tokens, embedded",
      "profile) with published keys, opens their N WebSockets at once from several loopback source",
      "addresses and times hello to welcome, holds them (with the SDK's protocol ping every 25 s) while",
      "measuring the node's CPU, then its live heap after a full GC and its RSS per connection; then",
      "pairs create conversations all at once, and every socket is dropped at once. Needs the node's pid",
      "(jcmd and jstat on the PATH). Sockets per process are bounded by `ulimit -n`; run several",
      "processes with different --handle-prefix and --first-source for more."})
public final class IdleBenchCommand implements Callable<Integer> {

  @Option(names = "--url", defaultValue = "ws://127.0.0.1:8080", description = "node to measure (default: ${DEFAULT-VALUE})")
  URI url;

  @Option(names = "--connections", defaultValue = "1000", description = "idle connections to hold (default: ${DEFAULT-VALUE})")
  int connections;

  @Option(names = "--sources", defaultValue = "8", description = "loopback source addresses 127.0.0.x to spread the sockets over (default: ${DEFAULT-VALUE})")
  int sources;

  @Option(names = "--first-source", defaultValue = "2", description = "x of the first source address 127.0.0.x (default: ${DEFAULT-VALUE})")
  int firstSource;

  @Option(names = "--handle-prefix", defaultValue = "idle", description = "bench users are <prefix>0, <prefix>1, ... (default: ${DEFAULT-VALUE})")
  String handlePrefix;

  @Option(names = "--after-login", defaultValue = "0", description = "seconds to wait after the logins before measuring the node's heap before connecting; longer than the key directory's passivate-idle-after lets the directories the logins woke be passivated, as on a node whose users reconnect (default: ${DEFAULT-VALUE})")
  long afterLoginSeconds;

  @Option(names = "--settle", defaultValue = "20", description = "seconds between the last welcome and the measured window (default: ${DEFAULT-VALUE})")
  long settleSeconds;

  @Option(names = "--hold", defaultValue = "60", description = "measured idle seconds (default: ${DEFAULT-VALUE})")
  long holdSeconds;

  @Option(names = "--creates", defaultValue = "1000", description = "conversations created at once by pairs of the connected users; 0 skips (default: ${DEFAULT-VALUE})")
  int creates;

  @Option(names = "--pings", negatable = true, defaultValue = "true", fallbackValue = "true", description = "send the SDK's protocol ping every 25 s while idle; --no-pings sends none (default: ${DEFAULT-VALUE})")
  boolean pings;

  @Option(names = "--server-pid", required = true, description = "pid of the node's JVM on this machine")
  long serverPid;

  @Option(names = "--metrics", description = "the node's Prometheus endpoint (e.g. http://127.0.0.1:9095/metrics), to count presence updates lost at the mass disconnect")
  URI metrics;

  @Override
  public Integer call() {
    if (connections < 1 || sources < 1 || firstSource < 1 || firstSource + sources > 255) {
      System.err.println("--connections and --sources must be positive, 127.0.0.<first-source + sources> a loopback address");
      return 2;
    }
    try {
      new IdleBench(new IdleBench.Plan(url, connections, sources, firstSource, handlePrefix,
          Duration.ofSeconds(afterLoginSeconds), Duration.ofSeconds(settleSeconds), Duration.ofSeconds(holdSeconds), creates, pings, serverPid, metrics),
          System.out).run();
      return 0;
    } catch (Exception e) {
      System.err.println("bench-idle failed: " + e);
      return 2;
    }
  }
}
