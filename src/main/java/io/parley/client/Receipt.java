package io.parley.client;

/**
 * Another participant's device acknowledged ({@link Kind#DELIVERED}) or its user read ({@link Kind#READ})
 * everything up to {@code seq}. Cumulative: a receipt covers all earlier seqs.
 */
public record Receipt(String conversationId, String user, Kind kind, long seq) {
  public enum Kind { DELIVERED, READ }
}
