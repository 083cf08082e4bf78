package io.parley.agent.routing;

/**
 * Which agent the front door hands a message to. {@code fallback}: no agent reached the confidence
 * threshold, so the fallback agent was chosen; {@code cached}: the decision came from the shared cache.
 */
public record IntentDecision(String agentId, double confidence, boolean fallback, boolean cached) {}
