package io.parley.agent.events;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A test double of the agent gateway's side of {@link AgentReplySink}: records every reply it is handed and
 * answers with whatever outcome the test sets. It does no encryption and no conversation dedup.
 */
public final class RecordingGatewaySink implements AgentReplySink {
  private final List<AgentReply> replies = new CopyOnWriteArrayList<>();
  private volatile Outcome outcome = Outcome.ACCEPTED;
  private volatile RuntimeException failure;

  @Override
  public CompletionStage<Outcome> accept(AgentReply reply) {
    replies.add(reply);
    RuntimeException e = failure;
    return e != null ? CompletableFuture.failedFuture(e) : CompletableFuture.completedFuture(outcome);
  }

  /** From now on the gateway fails (as when it cannot reach the conversation); null: it answers again. */
  public void failWith(RuntimeException failure) {
    this.failure = failure;
  }

  public void answer(Outcome outcome) {
    this.outcome = outcome;
  }

  public List<AgentReply> replies() {
    return List.copyOf(replies);
  }
}
