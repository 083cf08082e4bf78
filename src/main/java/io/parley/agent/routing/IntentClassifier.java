package io.parley.agent.routing;

import io.parley.agent.RegistrySnapshot;
import java.util.concurrent.CompletionStage;

/** Picks the agent for a user's message from the routable agents of a registry snapshot. Thread-safe. */
public interface IntentClassifier {

  CompletionStage<IntentDecision> classify(String text, RegistrySnapshot snapshot);
}
