package io.parley.agent.gateway;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.events.AgentDispatcher.AgentRejectedException;
import io.parley.agent.events.AgentMessage;
import io.parley.agent.events.AgentReply;
import io.parley.agent.events.AgentReplySink.Outcome;
import io.parley.agent.gateway.AgentOutbox.Entry;
import io.parley.agent.routing.IntentDecision;
import io.parley.agent.routing.NoRoutableAgentException;
import io.parley.client.DecryptedMessage;
import io.parley.client.Listener;
import io.parley.client.ParleyClient;
import io.parley.client.ParleyClientException;
import io.parley.client.StoreKey;
import io.parley.observability.Metrics;
import io.parley.serialization.CborSerializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * One agent's device, kept alive on exactly one node of the cluster (a sharded entity that never
 * passivates): it holds the agent's Parley client (its Signal keys and sessions live in the agent's vault in
 * MongoDB, sealed under the agent's data key), takes each decrypted user message into the outbox, routes it
 * (itself, or by intent for the front door), hands it to the agent service, and sends the agent's replies
 * back encrypted for the users' devices. Messages of one conversation reach the agent one at a time and in
 * order; conversations proceed in parallel, bounded by the dispatcher's per-agent concurrency.
 */
public final class AgentEndpoint extends AbstractBehavior<AgentEndpoint.Command> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "AgentEndpoint");

  private static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(2);
  private static final int STASH = 10_000;

  // ---- commands ----
  public sealed interface Command extends CborSerializable {}

  /** Starts the entity where sharding places it; sent by every node for every agent in its snapshot. */
  public record Ensure() implements Command {}

  /** An authenticated agent reply for this endpoint's conversations. {@code kind}: message, partial, typing. */
  public record Reply(AgentReply reply, ActorRef<Outcome> replyTo) implements Command {}

  /** Sharding's stop message: closes the client before the entity moves. */
  public record Stop() implements Command {}

  private record Started(Entry[] pending, Throwable failure) implements Command {}

  private record RetryStart() implements Command {}

  private record Received(Entry entry) implements Command {}

  private record Routed(Entry entry, IntentDecision decision, Throwable failure) implements Command {}

  private record Dispatched(Entry entry, String target, Throwable failure) implements Command {}

  private record Removed(Entry entry) implements Command {}

  private record Retry(Entry entry) implements Command {}

  private record AvailabilityChanged(String agentId, boolean available) implements Command {}

  private record RouteLoaded(Reply reply, Set<String> agents) implements Command {}

  private record RoutesRead(Entry entry, ConversationRoutes.Route route, Throwable failure) implements Command {}

  private record HandedOff(Entry entry, AgentSpec agent, ConversationRoutes.Route route, Throwable failure)
      implements Command {}

  private final String agentId;
  private final AgentGatewayDeps deps;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final StashBuffer<Command> stash;
  private final Executor blocking;

  private final Runnable unsubscribe;
  /** Set from the starting thread and read on the actor's; closed on stop even if the start was still running. */
  private volatile ParleyClient client;
  private final java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
  private AgentOutbox outbox;
  private boolean started;
  /** Per conversation: messages waiting for the one in flight to be taken by the agent. */
  private final Map<String, Queue<Entry>> waiting = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  /** Front door: the agents routed to in each conversation, the last one current. */
  private final Map<String, ConversationRoutes.Route> routes = new HashMap<>();
  /** Conversations told that an agent is unreachable, per agent, until it is back. */
  private final Map<String, Set<String>> toldUnavailable = new HashMap<>();

  public static void init(ActorSystem<?> system, AgentGatewayDeps deps) {
    ClusterSharding.get(system).init(Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), deps))
        .withStopMessage(new Stop())
        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
  }

  public static Behavior<Command> create(String agentId, AgentGatewayDeps deps) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> Behaviors.withStash(STASH,
        stash -> new AgentEndpoint(ctx, timers, stash, agentId, deps))));
  }

  private AgentEndpoint(ActorContext<Command> context, TimerScheduler<Command> timers, StashBuffer<Command> stash,
                        String agentId, AgentGatewayDeps deps) {
    super(context);
    this.context = context;
    this.timers = timers;
    this.stash = stash;
    this.agentId = agentId;
    this.deps = deps;
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    ActorRef<Command> self = context.getSelf();
    this.unsubscribe = deps.availability().subscribe((agent, available) ->
        self.tell(new AvailabilityChanged(agent, available)));
    launch();
  }

  private CompletionStage<Entry[]> startClient() {
    return CompletableFuture.supplyAsync(() -> {
      DataKey key = deps.dataKeys().of(agentId);
      outbox = new AgentOutbox(deps.database(), agentId, key, deps.clock());
      String account = deps.accounts().accountIdOf(agentId);
      ParleyClient built = ParleyClient.builder()
          .server(deps.localNode())
          .tokens(refresh -> CompletableFuture.completedFuture(deps.tokens().issue(account)))
          .device(AgentGatewayDeps.AGENT_DEVICE)
          .store(new MongoVaultStorage(deps.database(), "agent:" + agentId), StoreKey.raw(key.raw()))
          .listener(new ToOutbox())
          .clock(deps.clock())
          .build();
      client = built;
      if (stopped.get()) {
        // the entity stopped (it is moving to another node) while this start ran: two holders of one vault
        // would fork the agent's Signal sessions, so this one never connects
        built.close();
        throw new java.util.concurrent.CancellationException("agent endpoint stopped while starting");
      }
      return outbox.pending().toArray(Entry[]::new);
    }, blocking).thenCompose(pending -> client.start().thenApply(done -> pending));
  }

  /** The client's delivery thread: a message is in the outbox before the device acknowledges it. */
  private final class ToOutbox implements Listener {
    @Override
    public void onMessage(DecryptedMessage message) {
      if (deps.routing().isAgentAccount(message.fromUser())) {
        // another agent's words are not for this agent: two agents in one conversation would answer each
        // other for ever
        return;
      }
      AgentMessage forAgent = new AgentMessage(message.conversationId(), message.seq(), message.fromUser(),
          message.fromDevice(), message.text(), message.sentAt());
      Duration backoff = Duration.ofMillis(100);
      while (true) {
        try {
          context.getSelf().tell(new Received(outbox.add(forAgent)));
          return;
        } catch (RuntimeException e) {
          // not acknowledged until it is stored: keep the delivery thread here rather than lose the message
          context.getLog().warn("agent outbox unavailable, retrying in {}", backoff, e);
          try {
            Thread.sleep(backoff.toMillis());
          } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("agent endpoint stopped before the message was stored", interrupted);
          }
          backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5)
              : backoff.multipliedBy(2);
        }
      }
    }

    @Override
    public void onError(ParleyClientException error) {
      context.getLog().warn("agent device client reported {}", error.getClass().getSimpleName());
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Started.class, this::onStarted)
        .onMessage(RetryStart.class, retry -> launch())
        .onMessage(Stop.class, this::onStop)
        .onMessage(Ensure.class, ensure -> this)
        // until the client has started, everything else waits in order
        .onMessage(Command.class, command -> !started, command -> {
          stash.stash(command);
          return this;
        })
        .onMessage(Received.class, received -> then(() -> enqueue(received.entry())))
        .onMessage(Routed.class, routed -> then(() -> onRouted(routed)))
        .onMessage(Dispatched.class, dispatched -> then(() -> onDispatched(dispatched)))
        .onMessage(Removed.class, removed -> then(() -> next(removed.entry().message().conversationId())))
        .onMessage(Retry.class, retry -> then(() -> route(retry.entry())))
        .onMessage(AvailabilityChanged.class, changed -> then(() -> onAvailabilityChanged(changed)))
        .onMessage(Reply.class, reply -> then(() -> onReply(reply)))
        .onMessage(RouteLoaded.class, loaded -> then(() -> answerReply(loaded.reply(), loaded.agents())))
        .onMessage(RoutesRead.class, read -> then(() -> onRoutesRead(read)))
        .onMessage(HandedOff.class, handedOff -> then(() -> onHandedOff(handedOff)))
        .onSignal(org.apache.pekko.actor.typed.PostStop.class, signal -> {
          unsubscribe.run();
          stopped.set(true);
          closeClient();
          return this;
        })
        .build();
  }

  private Behavior<Command> then(Runnable handler) {
    handler.run();
    return this;
  }

  private Behavior<Command> onStarted(Started done) {
    if (done.failure() != null) {
      if (stopped.get()) {
        return Behaviors.stopped();
      }
      context.getLog().warn("agent endpoint could not start; retrying", done.failure());
      closeClient();
      timers.startSingleTimer(new RetryStart(), RETRY_AFTER_FAILURE);
      return this;
    }
    started = true;
    for (Entry entry : done.pending()) {
      enqueue(entry);
    }
    return stash.unstashAll(this);
  }

  private Behavior<Command> launch() {
    context.pipeToSelf(startClient(), (pending, failure) -> new Started(pending, failure));
    return this;
  }

  // ---- user messages to the agent ----

  private void enqueue(Entry entry) {
    String conversation = entry.message().conversationId();
    if (inFlight.contains(conversation)) {
      waiting.computeIfAbsent(conversation, c -> new ArrayDeque<>()).add(entry);
      return;
    }
    inFlight.add(conversation);
    route(entry);
  }

  private void next(String conversation) {
    Queue<Entry> queue = waiting.get(conversation);
    Entry entry = queue == null ? null : queue.poll();
    if (entry == null) {
      waiting.remove(conversation);
      inFlight.remove(conversation);
      return;
    }
    route(entry);
  }

  private void route(Entry entry) {
    if (!isFrontDoor()) {
      context.getSelf().tell(new Routed(entry, new IntentDecision(agentId, 1.0, false, false), null));
      return;
    }
    String conversation = entry.message().conversationId();
    if (!routes.containsKey(conversation)) {
      context.pipeToSelf(CompletableFuture.supplyAsync(() -> deps.routes().load(agentId, conversation), blocking),
          (route, failure) -> new RoutesRead(entry, route, failure));
      return;
    }
    context.pipeToSelf(deps.classifier().classify(entry.message().text(), snapshot()),
        (decision, failure) -> new Routed(entry, decision, failure));
  }

  private void onRoutesRead(RoutesRead read) {
    if (read.failure() != null) {
      context.getLog().warn("the front door's routes could not be read; retrying", read.failure());
      timers.startSingleTimer(new Retry(read.entry()), RETRY_AFTER_FAILURE);
      return;
    }
    routes.put(read.entry().message().conversationId(), read.route());
    route(read.entry());
  }

  private void onRouted(Routed routed) {
    Entry entry = routed.entry();
    String conversation = entry.message().conversationId();
    Throwable failure = unwrap(routed.failure());
    if (failure != null && !(failure instanceof NoRoutableAgentException)) {
      context.getLog().warn("intent classification failed; retrying", failure);
      timers.startSingleTimer(new Retry(entry), RETRY_AFTER_FAILURE);
      return;
    }
    Optional<AgentSpec> target = failure != null ? Optional.empty()
        : snapshot().byId(routed.decision().agentId()).filter(AgentSpec::routable);
    if (target.isEmpty()) {
      notice(conversation, "notice:" + entry.id(), isFrontDoor()
          ? "No assistant can take this message right now. Please try again later."
          : displayName() + " is not available at the moment. Please try again later.");
      remove(entry);
      return;
    }
    AgentSpec agent = target.get();
    ConversationRoutes.Route current = routes.getOrDefault(conversation, ConversationRoutes.Route.NONE);
    if (isFrontDoor() && !agent.id().equals(current.current())) {
      ConversationRoutes.Route next = current.to(agent.id());
      context.pipeToSelf(CompletableFuture.runAsync(() -> deps.routes().save(agentId, conversation, next), blocking),
          (ok, saveFailure) -> new HandedOff(entry, agent, next, saveFailure));
      return;
    }
    deliver(entry, agent);
  }

  /** The front door tells the user when another agent takes over the conversation. */
  private void onHandedOff(HandedOff handedOff) {
    Entry entry = handedOff.entry();
    if (handedOff.failure() != null) {
      context.getLog().warn("the front door's route could not be saved; retrying", handedOff.failure());
      timers.startSingleTimer(new Retry(entry), RETRY_AFTER_FAILURE);
      return;
    }
    String conversation = entry.message().conversationId();
    routes.put(conversation, handedOff.route());
    notice(conversation, "handoff:" + entry.id(),
        "↪ " + handedOff.agent().displayName() + " is taking over this conversation.");
    deliver(entry, handedOff.agent());
  }

  private void deliver(Entry entry, AgentSpec agent) {
    String conversation = entry.message().conversationId();
    if (!deps.dispatcher().isAvailable(agent.id())) {
      tellUnavailable(agent, conversation);
    }
    long started = System.nanoTime();
    context.pipeToSelf(deps.dispatcher().deliver(agent, entry.message()), (ok, failure) -> {
      if (failure == null) {
        Metrics.agentDelivered(agent.id(), Duration.ofNanos(System.nanoTime() - started));
      }
      return new Dispatched(entry, agent.id(), failure);
    });
  }

  private void onDispatched(Dispatched dispatched) {
    Entry entry = dispatched.entry();
    Throwable failure = unwrap(dispatched.failure());
    if (failure == null) {
      remove(entry);
      return;
    }
    if (failure instanceof AgentRejectedException) {
      String name = snapshot().byId(dispatched.target()).map(AgentSpec::displayName).orElse("The agent");
      notice(entry.message().conversationId(), "rejected:" + entry.id(),
          "⚠ " + name + " could not process your message.");
      remove(entry);
      return;
    }
    context.getLog().warn("dispatch to an agent failed; retrying", failure);
    timers.startSingleTimer(new Retry(entry), RETRY_AFTER_FAILURE);
  }

  private void remove(Entry entry) {
    context.pipeToSelf(CompletableFuture.runAsync(() -> outbox.remove(entry), blocking),
        (ok, failure) -> {
          if (failure != null) {
            // still in the outbox: after a restart it is offered again, with the same event id
            context.getLog().warn("could not remove a delivered message from the agent outbox", failure);
          }
          return new Removed(entry);
        });
  }

  private void onAvailabilityChanged(AvailabilityChanged changed) {
    if (changed.available()) {
      toldUnavailable.remove(changed.agentId());
      return;
    }
    Optional<AgentSpec> agent = snapshot().byId(changed.agentId());
    if (agent.isEmpty()) {
      return;
    }
    for (String conversation : inFlight) {
      if (routesTo(conversation, changed.agentId())) {
        tellUnavailable(agent.get(), conversation);
      }
    }
  }

  private boolean routesTo(String conversation, String agent) {
    if (!isFrontDoor()) {
      return agent.equals(agentId);
    }
    ConversationRoutes.Route route = routes.get(conversation);
    return route != null && agent.equals(route.current());
  }

  private void tellUnavailable(AgentSpec agent, String conversation) {
    if (toldUnavailable.computeIfAbsent(agent.id(), a -> new HashSet<>()).add(conversation)) {
      notice(conversation, "down:" + agent.id() + ":" + deps.clock().millis(),
          "⚠ " + agent.displayName() + " is not reachable right now. Your message is kept and will be delivered "
              + "when it is back.");
    }
  }

  /** A message from the agent's device itself, e.g. a handoff or an outage notice; at most once per key. */
  private void notice(String conversation, String key, String text) {
    client.send(conversation, text, idempotencyKey(key)).whenComplete((seq, failure) -> {
      if (failure != null) {
        context.getLog().warn("could not post a notice to a conversation", failure);
      }
    });
  }

  // ---- agent replies ----

  private void onReply(Reply reply) {
    if (!isFrontDoor()) {
      answerReply(reply, Set.of(agentId));
      return;
    }
    String conversation = reply.reply().conversationId();
    ConversationRoutes.Route route = routes.get(conversation);
    if (route != null) {
      answerReply(reply, route.agents());
      return;
    }
    context.pipeToSelf(CompletableFuture.supplyAsync(() -> deps.routes().load(agentId, conversation), blocking),
        (loaded, failure) -> new RouteLoaded(reply, failure == null ? loaded.agents() : Set.of()));
  }

  private void answerReply(Reply command, Set<String> allowed) {
    AgentReply reply = command.reply();
    if (!allowed.contains(reply.agentId())) {
      command.replyTo().tell(Outcome.NOT_IN_CONVERSATION);
      return;
    }
    CompletionStage<?> sent;
    if (reply instanceof AgentReply.Final answer) {
      sent = client.send(answer.conversationId(), spokenBy(answer.agentId(), answer.text()),
          idempotencyKey(answer.agentId() + "\u0000" + answer.eventId()));
    } else if (reply instanceof AgentReply.Partial partial) {
      sent = client.sendEphemeral(partial.conversationId(), spokenBy(partial.agentId(), partial.text()));
    } else {
      AgentReply.Typing typing = (AgentReply.Typing) reply;
      sent = client.typing(typing.conversationId(), typing.active());
    }
    ActorRef<Outcome> replyTo = command.replyTo();
    sent.whenComplete((ok, failure) -> replyTo.tell(outcome(unwrap(failure))));
  }

  /** Through the front door, a reply names the agent that wrote it. */
  private String spokenBy(String agent, String text) {
    return isFrontDoor()
        ? "[" + snapshot().byId(agent).map(AgentSpec::displayName).orElse(agent) + "] " + text
        : text;
  }

  private static Outcome outcome(Throwable failure) {
    if (failure == null) {
      return Outcome.ACCEPTED;
    }
    if (failure instanceof ParleyClientException.ServerError error
        && (error.code().equals("not_participant") || error.code().equals("unknown_conversation"))) {
      return Outcome.NOT_IN_CONVERSATION;
    }
    return Outcome.UNAVAILABLE;
  }

  // ---- lifecycle ----

  private Behavior<Command> onStop(Stop stop) {
    stopped.set(true);
    closeClient();
    return Behaviors.stopped();
  }

  private void closeClient() {
    ParleyClient open = client;
    client = null;
    if (open != null) {
      try {
        open.close();
      } catch (RuntimeException e) {
        context.getLog().warn("closing the agent device client failed", e);
      }
    }
  }

  private boolean isFrontDoor() {
    return agentId.equals(deps.frontDoorId());
  }

  private String displayName() {
    return snapshot().byId(agentId).map(AgentSpec::displayName).orElse(agentId);
  }

  private RegistrySnapshot snapshot() {
    return deps.routing().current();
  }

  private static Throwable unwrap(Throwable failure) {
    while (failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null) {
      failure = failure.getCause();
    }
    return failure;
  }

  /** An idempotency key in the protocol's alphabet, the same for the same input. */
  static String idempotencyKey(String input) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(input.getBytes(StandardCharsets.UTF_8));
      return "ag-" + Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 32);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
