package io.parley.agent.gateway;

import io.parley.agent.AgentSpec;
import io.parley.agent.events.AgentReply;
import io.parley.agent.events.AgentReplySink;
import io.parley.conversation.Conversation;
import io.parley.observability.Metrics;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The agent gateway on one node: starts the agents' endpoints (wherever sharding places them) and takes
 * the agents' authenticated replies to the endpoint that speaks in the conversation — the agent's own
 * device when the agent is a participant, otherwise the front door, which checks that it handed the
 * conversation to that agent.
 *
 * <p>Endpoints never passivate, but sharding does not restart an entity that moved away from a node that left
 * or was downed: every node asks for all of them again when a member leaves or is removed (and, as a safety
 * net, every {@link #KEEP_ALIVE}), so that an agent's device is back online on a survivor within moments.
 */
public final class AgentGateway implements AgentReplySink, AutoCloseable {
  private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

  private final ClusterSharding sharding;
  private final AgentGatewayDeps deps;
  private final Duration askTimeout;
  private final Cancellable keepAlive;
  private volatile boolean closed;

  private AgentGateway(ActorSystem<?> system, AgentGatewayDeps deps, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.deps = deps;
    this.askTimeout = askTimeout;
    this.keepAlive = system.scheduler().scheduleAtFixedRate(Duration.ofMillis(100), KEEP_ALIVE, this::ensureAll,
        system.executionContext());
    system.systemActorOf(onMembersLeaving(system), "agent-gateway-membership", Props.empty());
  }

  /** The shards of a node that left gracefully were handed off before it left; those of a downed one are free. */
  private Behavior<ClusterEvent.MemberEvent> onMembersLeaving(ActorSystem<?> system) {
    return Behaviors.setup(context -> {
      Cluster.get(system).subscriptions().tell(Subscribe.create(context.getSelf(), ClusterEvent.MemberEvent.class));
      return Behaviors.receive(ClusterEvent.MemberEvent.class)
          .onMessage(ClusterEvent.MemberLeft.class, event -> ensuringAll())
          .onMessage(ClusterEvent.MemberExited.class, event -> ensuringAll())
          .onMessage(ClusterEvent.MemberRemoved.class, event -> ensuringAll())
          .onMessage(ClusterEvent.MemberEvent.class, event -> Behaviors.same())
          .build();
    });
  }

  private Behavior<ClusterEvent.MemberEvent> ensuringAll() {
    ensureAll();
    return Behaviors.same();
  }

  public static AgentGateway start(ActorSystem<?> system, AgentGatewayDeps deps, Duration askTimeout) {
    AgentEndpoint.init(system, deps);
    return new AgentGateway(system, deps, askTimeout);
  }

  /** Makes sure every enabled agent's endpoint runs somewhere; called on every registry change too. */
  public void ensureAll() {
    if (closed) {
      // this node is shutting down: its own region is handing its endpoints off
      return;
    }
    for (AgentSpec agent : deps.routing().current().agents()) {
      if (agent.enabled()) {
        sharding.entityRefFor(AgentEndpoint.ENTITY_KEY, agent.id()).tell(new AgentEndpoint.Ensure());
      }
    }
  }

  @Override
  public CompletionStage<Outcome> accept(AgentReply reply) {
    var agent = deps.routing().current().byId(reply.agentId()).filter(AgentSpec::enabled);
    if (agent.isEmpty()) {
      return CompletableFuture.completedFuture(Outcome.NOT_IN_CONVERSATION);
    }
    return isParticipant(agent.get().accountId(), reply.conversationId())
        .thenCompose(participant -> toEndpoint(participant ? agent.get().id() : deps.frontDoorId(), reply))
        .exceptionally(failure -> Outcome.UNAVAILABLE)
        .whenComplete((outcome, failure) -> Metrics.agentReply(reply.agentId(), reply.kind(),
            outcome == null ? "failed" : outcome.name().toLowerCase(java.util.Locale.ROOT)));
  }

  private CompletionStage<Boolean> isParticipant(String accountId, String conversationId) {
    return sharding.entityRefFor(Conversation.ENTITY_KEY, conversationId)
        .<Conversation.Reply>ask(replyTo -> new Conversation.GetInfo(accountId, replyTo), askTimeout)
        .thenApply(answer -> answer instanceof Conversation.Info);
  }

  private CompletionStage<Outcome> toEndpoint(String endpoint, AgentReply reply) {
    return sharding.entityRefFor(AgentEndpoint.ENTITY_KEY, endpoint)
        .ask(replyTo -> new AgentEndpoint.Reply(reply, replyTo), askTimeout);
  }

  @Override
  public void close() {
    closed = true;
    keepAlive.cancel();
  }
}
