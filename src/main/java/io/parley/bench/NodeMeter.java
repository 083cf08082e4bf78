package io.parley.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The node's JVM seen from outside: CPU time from the OS, resident memory from {@code /proc}, and live
 * heap after a full collection ({@code jcmd <pid> GC.run}, then {@code jstat -gc} once: used eden, survivor
 * and old space). A collection the bench asks for is not load; it is measured beside, never inside, a
 * CPU window.
 */
final class NodeMeter {
  private final long pid;
  private final ProcessHandle handle;

  NodeMeter(long pid) {
    this.pid = pid;
    this.handle = ProcessHandle.of(pid).orElseThrow(() -> new IllegalArgumentException("no process with pid " + pid));
  }

  /** CPU seconds the node has used since it started. */
  double cpuSeconds() {
    return handle.info().totalCpuDuration().map(Duration::toNanos).orElse(0L) / 1e9;
  }

  double rssMib() {
    return ServerProbe.rssMib(pid);
  }

  /** Live heap in MiB after a full GC of the node. */
  double liveHeapMibAfterFullGc() {
    run("jcmd", Long.toString(pid), "GC.run");
    String out = run("jstat", "-gc", Long.toString(pid));
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    if (lines.size() < 2) {
      return Double.NaN;
    }
    String[] header = lines.get(0).trim().split("\\s+");
    String[] values = lines.get(1).trim().split("\\s+");
    double usedKib = 0;
    for (int i = 0; i < header.length && i < values.length; i++) {
      if (List.of("S0U", "S1U", "EU", "OU").contains(header[i])) {
        usedKib += Double.parseDouble(values[i]);
      }
    }
    return usedKib / 1024;
  }

  private static String run(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroy();
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(command[0] + " is needed on the PATH (a JDK's bin): " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
