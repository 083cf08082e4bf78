package io.parley.bench;

import java.io.PrintStream;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/** The formatting the bench reports share: numbers in the root locale, table rows, {@code result:} pairs. */
final class BenchFormat {
  private BenchFormat() {
  }

  static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  /** A percentile of a microsecond histogram in milliseconds to one decimal, {@code -} when it is empty. */
  static String ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? "-" : f("%.1f", Bench.ms(h.getValueAtPercentile(percentile)));
  }

  /** One row of a summary table, the metric's name padded to {@code nameWidth}. */
  static void row(PrintStream out, int nameWidth, String name, String value) {
    out.println(f("  %-" + nameWidth + "s %s", name, value));
  }

  /** One {@code key=value} pair of a {@code result:} line. */
  static void kv(StringBuilder line, String key, Object value) {
    line.append(' ').append(key).append('=').append(value);
  }
}
