package io.parley.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Load generator: drives WebSocket clients in 1:1 conversations against a running node. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure a running Parley node.")
public final class BenchCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("bench arrives with the benchmark change");
  }
}
