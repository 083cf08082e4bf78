package io.parley.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches the server process during a run: CPU time from the OS (utime + stime, through
 * {@link ProcessHandle}), heap and GC from one {@code jstat -gc <pid> 1000} started before the measured
 * window (so its own start-up cost falls in the warm-up), resident memory from {@code /proc/<pid>/status}.
 */
final class ServerProbe implements AutoCloseable {
  /** Heap in MiB, GC counts and pause seconds, CPU in cores, all over the measured window. */
  record Usage(double cpuCores, double heapUsedMaxMib, double heapUsedEndMib, double heapCommittedMib,
               double rssMaxMib, long gcCount, double gcPauseSeconds, String note) {}

  private record Sample(long at, Map<String, Double> gc, double rssMib) {}

  private final long pid;
  private final ProcessHandle handle;
  private final Process jstat;
  private final List<Sample> samples = new ArrayList<>();
  private long startedAt;
  private long endedAt;
  private Duration cpuAtStart;
  private Duration cpuAtEnd;

  private ServerProbe(long pid, ProcessHandle handle, Process jstat) {
    this.pid = pid;
    this.handle = handle;
    this.jstat = jstat;
  }

  static ServerProbe attach(long pid) {
    ProcessHandle handle = ProcessHandle.of(pid)
        .orElseThrow(() -> new IllegalArgumentException("no process with pid " + pid));
    Process jstat = null;
    try {
      jstat = new ProcessBuilder("jstat", "-gc", Long.toString(pid), "1000").redirectErrorStream(true).start();
    } catch (IOException e) {
      // no JDK tools: CPU and RSS are still measured
    }
    ServerProbe probe = new ServerProbe(pid, handle, jstat);
    if (jstat != null) {
      Thread reader = new Thread(probe::readJstat, "bench-jstat");
      reader.setDaemon(true);
      reader.start();
    }
    return probe;
  }

  synchronized void markStart() {
    startedAt = System.nanoTime();
    cpuAtStart = cpu();
  }

  synchronized void markEnd() {
    endedAt = System.nanoTime();
    cpuAtEnd = cpu();
  }

  /** Server CPU time used between the marks, in seconds. */
  synchronized double cpuSeconds() {
    return cpuAtStart == null || cpuAtEnd == null ? Double.NaN : (cpuAtEnd.toNanos() - cpuAtStart.toNanos()) / 1e9;
  }

  synchronized Usage usage() {
    double wall = (endedAt - startedAt) / 1e9;
    List<Sample> window = samples.stream().filter(s -> s.at() >= startedAt && s.at() <= endedAt).toList();
    if (window.size() < 2) {
      return new Usage(cpuSeconds() / wall, Double.NaN, Double.NaN, Double.NaN, rssMib(), 0, Double.NaN,
          "no jstat samples (is jstat on the PATH and the server a JVM of the same user?)");
    }
    Sample first = window.get(0);
    Sample last = window.get(window.size() - 1);
    double usedMax = window.stream().mapToDouble(s -> heapUsedKib(s.gc())).max().orElse(Double.NaN) / 1024;
    double rssMax = window.stream().mapToDouble(Sample::rssMib).max().orElse(Double.NaN);
    long gcCount = Math.round(count(last.gc()) - count(first.gc()));
    double gcPause = pauseSeconds(last.gc()) - pauseSeconds(first.gc());
    return new Usage(cpuSeconds() / wall, usedMax, heapUsedKib(last.gc()) / 1024, heapCommittedKib(last.gc()) / 1024,
        rssMax, gcCount, gcPause, "");
  }

  private Duration cpu() {
    return handle.info().totalCpuDuration().orElse(Duration.ZERO);
  }

  private void readJstat() {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(jstat.getInputStream(),
        StandardCharsets.US_ASCII))) {
      String[] header = null;
      String line;
      while ((line = lines.readLine()) != null) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length > 0 && fields[0].equals("S0C")) {
          header = fields;
        } else if (header != null && fields.length == header.length) {
          Map<String, Double> values = new HashMap<>();
          for (int i = 0; i < fields.length; i++) {
            values.put(header[i], parse(fields[i]));
          }
          Sample sample = new Sample(System.nanoTime(), values, rssMib());
          synchronized (this) {
            samples.add(sample);
          }
        }
      }
    } catch (IOException e) {
      // jstat ended
    }
  }

  private double rssMib() {
    return rssMib(pid);
  }

  /** The resident set of process {@code pid} in MiB, from {@code /proc}; NaN when it cannot be read. */
  static double rssMib(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Double.parseDouble(line.replaceAll("[^0-9]", "")) / 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
    return Double.NaN;
  }

  private static double parse(String field) {
    try {
      return Double.parseDouble(field);
    } catch (NumberFormatException e) {
      return Double.NaN; // "-" for a column this collector has not
    }
  }

  private static double heapUsedKib(Map<String, Double> gc) {
    return sum(gc, "S0U", "S1U", "EU", "OU");
  }

  private static double heapCommittedKib(Map<String, Double> gc) {
    return sum(gc, "S0C", "S1C", "EC", "OC");
  }

  /** Young and full collections (stop-the-world pauses); concurrent cycles are not pauses. */
  private static double count(Map<String, Double> gc) {
    return sum(gc, "YGC", "FGC");
  }

  private static double pauseSeconds(Map<String, Double> gc) {
    return sum(gc, "YGCT", "FGCT");
  }

  private static double sum(Map<String, Double> gc, String... columns) {
    double total = 0;
    for (String column : columns) {
      Double value = gc.get(column);
      if (value != null && !value.isNaN()) {
        total += value;
      }
    }
    return total;
  }

  @Override
  public void close() {
    if (jstat != null) {
      jstat.destroy();
    }
  }

}
