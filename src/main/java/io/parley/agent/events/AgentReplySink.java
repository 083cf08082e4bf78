package io.parley.agent.events;

import io.parley.serialization.CborSerializable;
import java.util.concurrent.CompletionStage;

/** Where authenticated agent replies go: the agent gateway, which encrypts them for the users' devices. */
public interface AgentReplySink {

  CompletionStage<Outcome> accept(AgentReply reply);

  /** Also the agent endpoint's answer to a gateway on another node: it crosses the wire. */
  enum Outcome implements CborSerializable {
    /** Stored (final) or sent to the live devices (partial, typing). */
    ACCEPTED,
    /** This event id was accepted before; nothing was done again. */
    DUPLICATE,
    /** The agent is not part of that conversation (nor routed to in it by the front door). */
    NOT_IN_CONVERSATION,
    /** The agent's encryption endpoint cannot take it now; the agent retries. */
    UNAVAILABLE
  }
}
