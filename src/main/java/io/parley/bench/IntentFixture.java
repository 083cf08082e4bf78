package io.parley.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.agent.AgentAccounts;
import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The agents and the labelled utterances that intent routing is measured on ({@code bench/intent/}): eight
 * agents with descriptions and example utterances, one of them ({@link #fallbackAgent()}) without examples
 * for what no other agent covers, and a separate set of labelled utterances that are not examples.
 */
public record IntentFixture(List<AgentSpec> agents, String fallbackAgent, List<Labelled> labelled) {

  /** A user's utterance and the agent that should get it. */
  public record Labelled(String agentId, String text) {}

  private static final String AGENTS = "/bench/intent/agents.json";
  private static final String LABELLED = "/bench/intent/labelled.tsv";

  public IntentFixture {
    agents = List.copyOf(agents);
    labelled = List.copyOf(labelled);
  }

  public static IntentFixture load() {
    JsonNode root;
    try (InputStream in = resource(AGENTS)) {
      root = new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // the agents' account ids and secrets play no part in routing
    AgentAccounts accounts = new AgentAccounts(new byte[32]);
    List<AgentSpec> agents = new ArrayList<>();
    for (JsonNode a : root.get("agents")) {
      String id = a.get("id").asText();
      List<String> examples = new ArrayList<>();
      a.get("examples").forEach(e -> examples.add(e.asText()));
      agents.add(new AgentSpec(id, a.get("name").asText(),
          Optional.of(URI.create("http://127.0.0.1:8090/agents/" + id)), a.get("description").asText(), examples,
          "", true, AgentSpec.Source.ADMIN, accounts.accountIdOf(id)));
    }
    return new IntentFixture(agents, root.get("fallbackAgent").asText(), readLabelled());
  }

  public RegistrySnapshot snapshot(long version) {
    return new RegistrySnapshot(version, Instant.EPOCH, agents);
  }

  private static List<Labelled> readLabelled() {
    List<Labelled> labelled = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(resource(LABELLED), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int tab = line.indexOf('\t');
        if (tab < 0) {
          throw new IllegalStateException(LABELLED + ": no tab in: " + line);
        }
        labelled.add(new Labelled(line.substring(0, tab), line.substring(tab + 1)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return labelled;
  }

  private static InputStream resource(String name) {
    InputStream in = IntentFixture.class.getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("missing resource " + name);
    }
    return in;
  }
}
