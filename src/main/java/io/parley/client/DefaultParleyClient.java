package io.parley.client;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The client behind {@link ParleyClient}; the implementation lands in the commits after the public API. */
final class DefaultParleyClient implements ParleyClient {
  DefaultParleyClient(ParleyClient.Builder settings) {
    throw new UnsupportedOperationException("the client implementation follows the public API commit");
  }

  @Override public CompletableFuture<Void> start() { throw new UnsupportedOperationException(); }
  @Override public String accountId() { throw new UnsupportedOperationException(); }
  @Override public int device() { throw new UnsupportedOperationException(); }
  @Override public ConnectionState connectionState() { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Long> send(String conversationId, String text) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Long> createConversation(String conversationId, Collection<String> participants) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Long> addMember(String conversationId, String accountId) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Long> removeMember(String conversationId, String accountId) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<List<ConversationSummary>> listConversations() { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Void> markRead(String conversationId, long seq) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<List<ReceiptMarkers>> receipts(String conversationId) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Void> typing(String conversationId, boolean active) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<String> lookup(String handle) { throw new UnsupportedOperationException(); }
  @Override public CompletableFuture<Void> trustNewIdentity(String accountId) { throw new UnsupportedOperationException(); }
  @Override public void close() {}
}
