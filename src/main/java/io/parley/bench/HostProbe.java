package io.parley.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The machine around a run: how busy all its cores were ({@code /proc/stat}), how much of that was
 * this load generator, and the load average, so that numbers taken while other work ran can be told apart.
 */
final class HostProbe {
  /** One reading. */
  record Snapshot(long at, long busyTicks, long totalTicks, double benchCpuSeconds, double loadAverage) {}

  /** Over a window: cores busy machine-wide and in this process, load averages at both ends. */
  record Usage(int cores, double busyCores, double benchCores, double loadAtStart, double loadAtEnd) {}

  private HostProbe() {}

  static Snapshot take() {
    long busy = -1;
    long total = -1;
    try {
      String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      total = 0;
      for (int i = 1; i < cpu.length && i <= 8; i++) { // user nice system idle iowait irq softirq steal
        total += Long.parseLong(cpu[i]);
      }
      busy = total - Long.parseLong(cpu[4]) - Long.parseLong(cpu[5]);
    } catch (IOException | RuntimeException e) {
      // not Linux: machine-wide figures stay unknown
    }
    double self = ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L) / 1e9;
    return new Snapshot(System.nanoTime(), busy, total, self, loadAverage());
  }

  static Usage between(Snapshot start, Snapshot end) {
    int cores = Runtime.getRuntime().availableProcessors();
    double wall = (end.at() - start.at()) / 1e9;
    double busy = start.totalTicks() < 0 || end.totalTicks() <= start.totalTicks() ? Double.NaN
        : cores * (double) (end.busyTicks() - start.busyTicks()) / (end.totalTicks() - start.totalTicks());
    return new Usage(cores, busy, (end.benchCpuSeconds() - start.benchCpuSeconds()) / wall,
        start.loadAverage(), end.loadAverage());
  }

  private static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }
}
