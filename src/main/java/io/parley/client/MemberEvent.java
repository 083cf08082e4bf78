package io.parley.client;

import java.time.Instant;
import java.util.List;

/**
 * A membership change, delivered in seq order with the conversation's messages.
 *
 * @param participants every member after the change, as far as this device knows them
 */
public record MemberEvent(String conversationId, long seq, Change change, String user, String by,
                          List<String> participants, Instant at) {
  public enum Change { CREATED, ADDED, REMOVED }
}
