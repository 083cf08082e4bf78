package io.parley.bench;

import io.parley.agent.RegistrySnapshot;
import io.parley.agent.routing.IntentDecision;
import io.parley.bench.IntentFixture.Labelled;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * How often routing picks the labelled agent, overall, for the utterances some agent covers ("in scope"),
 * for those that belong to the fallback agent ("out of scope"), and per agent with what it was mistaken for.
 */
public record RoutingAccuracy(int total, int correct, int inScope, int inScopeCorrect, int outOfScope,
                              int outOfScopeCorrect, Map<String, Map<String, Integer>> confusion) {

  public static RoutingAccuracy measure(IntentFixture fixture, RegistrySnapshot snapshot,
                                        BiFunction<String, RegistrySnapshot, IntentDecision> classifier) {
    int correct = 0;
    int inScope = 0;
    int inScopeCorrect = 0;
    int outOfScope = 0;
    int outOfScopeCorrect = 0;
    Map<String, Map<String, Integer>> confusion = new TreeMap<>();
    List<Labelled> labelled = fixture.labelled();
    for (Labelled l : labelled) {
      String chosen = classifier.apply(l.text(), snapshot).agentId();
      boolean right = chosen.equals(l.agentId());
      confusion.computeIfAbsent(l.agentId(), k -> new TreeMap<>()).merge(chosen, 1, Integer::sum);
      correct += right ? 1 : 0;
      if (l.agentId().equals(fixture.fallbackAgent())) {
        outOfScope++;
        outOfScopeCorrect += right ? 1 : 0;
      } else {
        inScope++;
        inScopeCorrect += right ? 1 : 0;
      }
    }
    return new RoutingAccuracy(labelled.size(), correct, inScope, inScopeCorrect, outOfScope, outOfScopeCorrect,
        confusion);
  }

  public double overall() {
    return ratio(correct, total);
  }

  public double inScopeAccuracy() {
    return ratio(inScopeCorrect, inScope);
  }

  public double outOfScopeAccuracy() {
    return ratio(outOfScopeCorrect, outOfScope);
  }

  public void print(PrintStream out) {
    out.printf("accuracy        %.3f (%d of %d utterances)%n", overall(), correct, total);
    out.printf("  in scope      %.3f (%d of %d)%n", inScopeAccuracy(), inScopeCorrect, inScope);
    out.printf("  out of scope  %.3f (%d of %d reached the fallback agent)%n", outOfScopeAccuracy(),
        outOfScopeCorrect, outOfScope);
    out.println("per agent (labelled -> chosen: count)");
    confusion.forEach((label, chosen) -> {
      int n = chosen.values().stream().mapToInt(Integer::intValue).sum();
      int right = chosen.getOrDefault(label, 0);
      StringBuilder wrong = new StringBuilder();
      chosen.forEach((agent, count) -> {
        if (!agent.equals(label)) {
          wrong.append(wrong.length() == 0 ? "" : ", ").append(agent).append(' ').append(count);
        }
      });
      out.printf("  %-13s %3d/%-3d %.2f  %s%n", label, right, n, ratio(right, n),
          wrong.length() == 0 ? "" : "mistaken for: " + wrong);
    });
  }

  private static double ratio(int a, int b) {
    return b == 0 ? 0 : (double) a / b;
  }
}
