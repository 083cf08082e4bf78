package io.parley.cli;

import io.parley.client.AgentInfo;
import io.parley.client.ConnectionState;
import io.parley.client.ConversationSummary;
import io.parley.client.DecryptedMessage;
import io.parley.client.EphemeralMessage;
import io.parley.client.Listener;
import io.parley.client.MemberEvent;
import io.parley.client.ParleyClientException;
import io.parley.client.Receipt;
import io.parley.client.ReceiptMarkers;
import io.parley.client.SentMessage;
import io.parley.client.TypingEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The state of one {@code parley chat} session: which conversation is open, what was shown, which receipts
 * and typing indicators are on screen. Runs the typed commands (on the terminal's thread) and renders the
 * client's events (on the client's delivery thread); every line goes through {@code screen}, which prints it
 * above the line being typed.
 */
final class ChatController implements Listener {
  /** Lines kept per conversation for showing again on {@code /open}. */
  static final int HISTORY = 20;
  /** A typing indicator not repeated within this long counts as stopped. */
  static final Duration TYPING_STALE = Duration.ofSeconds(6);

  private final HandleBook book;
  private final ChatView view;
  private final Consumer<String> screen;
  private final Clock clock;
  private volatile Connection connection;
  private volatile boolean quitting;

  private final List<String> listed = new ArrayList<>();
  private static final java.time.Duration PARTIAL_EVERY = java.time.Duration.ofSeconds(1);
  /** When a partial reply was last shown, per conversation and sender. */
  private final Map<String, Instant> partialShown = new HashMap<>();
  /** The agents as last listed by /agents, numbered from 1. */
  private final List<AgentInfo> listedAgents = new ArrayList<>();
  private String open;
  private final Map<String, Deque<String>> history = new HashMap<>();
  private final Map<String, Long> latestSeq = new HashMap<>();
  private final Map<String, Long> readMarked = new HashMap<>();
  private final Map<String, NavigableSet<Long>> ownSeqs = new HashMap<>();
  private final Map<String, Map<String, Marks>> marks = new HashMap<>();
  private final Map<String, Map<String, Instant>> typing = new HashMap<>();
  private final TypingSignal typingSignal;

  /** Receipts of one member in one conversation: the highest seqs received, and those already shown. */
  private static final class Marks {
    long delivered;
    long read;
    long shownDelivered;
    long shownRead;
  }

  ChatController(HandleBook book, ChatView view, Consumer<String> screen, Clock clock) {
    this.book = book;
    this.view = view;
    this.screen = screen;
    this.clock = clock;
    this.typingSignal = new TypingSignal(clock, (conversation, active) -> {
      Connection current = connection;
      if (current != null) {
        current.client().typing(conversation, active);
      }
    });
  }

  /** Called once the client is started; from then on commands can run. */
  void attach(Connection started) {
    this.connection = started;
  }

  /** The user is leaving: the client's stop that follows is expected, not news. */
  void quit() {
    typingSignal.stopped();
    quitting = true;
  }

  TypingSignal typingSignal() {
    return typingSignal;
  }

  synchronized String openConversation() {
    return open;
  }

  synchronized String prompt() {
    return ChatView.prompt(open == null ? null : others(open));
  }

  // ---- typed input ----

  /** Runs one typed line; false when the user wants to quit. */
  boolean run(ChatInput input) {
    try {
      if (input instanceof ChatInput.Quit) {
        quit();
        return false;
      } else if (input instanceof ChatInput.Help) {
        screen.accept(ChatInput.HELP);
      } else if (input instanceof ChatInput.Invalid invalid) {
        screen.accept(ChatView.problem(invalid.problem()));
      } else if (input instanceof ChatInput.ListConversations) {
        list(true);
      } else if (input instanceof ChatInput.NewConversation create) {
        create(create.handles());
      } else if (input instanceof ChatInput.Open target) {
        open(target.target());
      } else if (input instanceof ChatInput.Add add) {
        add(add.handle());
      } else if (input instanceof ChatInput.Trust trust) {
        trust(trust.handle());
      } else if (input instanceof ChatInput.Leave) {
        leave();
      } else if (input instanceof ChatInput.ListAgents) {
        listAgents(true);
      } else if (input instanceof ChatInput.TalkTo talk) {
        talkTo(talk.agent());
      } else if (input instanceof ChatInput.Say say) {
        say(say.text());
      }
    } catch (CliFailure failure) {
      screen.accept(ChatView.problem(failure.getMessage()));
    }
    return true;
  }

  /** Asks the server for the user's conversations and numbers them; prints the list if {@code print}. */
  private void list(boolean print) {
    List<ConversationSummary> conversations = connection.await(connection.client().listConversations(),
        "listing conversations");
    for (ConversationSummary summary : conversations) {
      if (book.members(summary.conversationId()).isEmpty()) {
        learnMembers(summary.conversationId(), connection.await(
            connection.client().receipts(summary.conversationId()), "reading members"));
      }
    }
    List<ChatView.Row> rows = new ArrayList<>();
    synchronized (this) {
      listed.clear();
      conversations.forEach(summary -> listed.add(summary.conversationId()));
      for (int i = 0; i < listed.size(); i++) {
        rows.add(new ChatView.Row(i + 1, listed.get(i), others(listed.get(i)), listed.get(i).equals(open)));
      }
    }
    if (print) {
      screen.accept(ChatView.list(rows));
    }
  }

  /** Asks the server for the agents and numbers them; prints them if {@code print}, as @id (no handle has '@'). */
  private void listAgents(boolean print) {
    List<AgentInfo> agents = connection.await(connection.client().agents(), "listing agents");
    synchronized (this) {
      listedAgents.clear();
      listedAgents.addAll(agents);
    }
    if (!print) {
      return;
    }
    if (agents.isEmpty()) {
      screen.accept(ChatView.notice("no agents are available yet: a node starts its agents a little after itself,"
          + " try /agents again in a moment"));
      return;
    }
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < agents.size(); i++) {
      AgentInfo agent = agents.get(i);
      book.rememberHandle("@" + agent.id(), agent.accountId());
      lines.add(String.format("%2d. @%s — %s%s: %s", i + 1, agent.id(), agent.displayName(),
          agent.frontDoor() ? " (front door: picks an agent for you)" : "", agent.description()));
    }
    screen.accept(String.join("\n", lines));
  }

  private void talkTo(String target) {
    String wanted = target.startsWith("@") ? target.substring(1) : target;
    Optional<AgentInfo> agent = findAgent(wanted);
    if (agent.isEmpty()) {
      listAgents(false);
      agent = findAgent(wanted);
    }
    if (agent.isEmpty()) {
      screen.accept(ChatView.problem("no agent " + target + " (see /agents)"));
      return;
    }
    book.rememberHandle("@" + agent.get().id(), agent.get().accountId());
    String conversationId = connection.conversationWith(List.of(agent.get().accountId()));
    synchronized (this) {
      if (!listed.contains(conversationId)) {
        listed.add(conversationId);
      }
    }
    show(conversationId);
  }

  private synchronized Optional<AgentInfo> findAgent(String target) {
    if (!target.isEmpty() && target.chars().allMatch(Character::isDigit)) {
      int number = Integer.parseInt(target);
      return number >= 1 && number <= listedAgents.size() ? Optional.of(listedAgents.get(number - 1)) : Optional.empty();
    }
    return listedAgents.stream().filter(a -> a.id().equalsIgnoreCase(target)).findFirst();
  }

  private void create(List<String> handles) {
    List<String> others = new ArrayList<>();
    for (String handle : handles) {
      String accountId = connection.lookup(handle);
      if (!accountId.equals(connection.accountId())) {
        others.add(accountId);
      }
    }
    if (others.isEmpty()) {
      screen.accept(ChatView.problem("a conversation needs someone besides you"));
      return;
    }
    String conversationId = connection.create(others);
    synchronized (this) {
      if (!listed.contains(conversationId)) {
        listed.add(conversationId);
      }
    }
    show(conversationId);
  }

  private void open(String target) {
    Optional<String> found = find(target);
    if (found.isEmpty()) {
      list(false);
      found = find(target);
    }
    if (found.isEmpty()) {
      screen.accept(ChatView.problem("no conversation " + target + " (see /list)"));
      return;
    }
    show(found.get());
  }

  private synchronized Optional<String> find(String target) {
    if (target.chars().allMatch(Character::isDigit)) {
      int number = Integer.parseInt(target);
      return number >= 1 && number <= listed.size() ? Optional.of(listed.get(number - 1)) : Optional.empty();
    }
    return listed.contains(target) ? Optional.of(target) : Optional.empty();
  }

  /** Opens a conversation: prints its header and the lines kept from this session, marks it read. */
  private void show(String conversationId) {
    typingSignal.stopped();
    if (book.members(conversationId).isEmpty()) {
      learnMembers(conversationId, connection.await(connection.client().receipts(conversationId), "reading members"));
    }
    StringBuilder shown = new StringBuilder();
    long unread;
    synchronized (this) {
      open = conversationId;
      shown.append(ChatView.opened(others(conversationId), conversationId));
      history.getOrDefault(conversationId, new ArrayDeque<>()).forEach(line -> shown.append('\n').append(line));
      unread = latestSeq.getOrDefault(conversationId, 0L);
    }
    screen.accept(shown.toString());
    markRead(conversationId, unread);
  }

  private void add(String handle) {
    String conversationId = requireOpen();
    String accountId = connection.lookup(handle);
    connection.await(connection.client().addMember(conversationId, accountId), "adding " + handle);
  }

  private void trust(String handle) {
    String accountId = connection.lookup(handle);
    connection.await(connection.client().trustNewIdentity(accountId), "trusting " + handle);
    screen.accept(ChatView.notice("trusting the new identity key of " + handle));
  }

  private void leave() {
    String conversationId = requireOpen();
    String label = others(conversationId);
    connection.await(connection.client().removeMember(conversationId, connection.accountId()), "leaving");
    synchronized (this) {
      listed.remove(conversationId);
      if (conversationId.equals(open)) {
        open = null;
      }
    }
    book.forgetConversation(conversationId);
    screen.accept(ChatView.notice("you left the conversation with " + label));
  }

  private void say(String text) {
    String conversationId = requireOpen();
    typingSignal.stopped();
    connection.client().send(conversationId, text).whenComplete((seq, error) -> {
      if (error != null) {
        screen.accept(ChatView.problem(Failures.explain(error, "not sent").getMessage()));
        return;
      }
      String line = view.message(seq, clock.instant(), connection.accountId(), text);
      screen.accept(record(conversationId, line));
      ownMessage(conversationId, seq);
    });
  }

  private synchronized String requireOpen() {
    if (open == null) {
      throw new CliFailure(ExitCode.USAGE, "no conversation is open: /new <handle> or /list and /open <n>");
    }
    return open;
  }

  // ---- the client's events ----

  @Override
  public void onMessage(DecryptedMessage message) {
    String conversationId = message.conversationId();
    Connection current = connection;
    boolean mine = current != null && message.fromUser().equals(current.accountId());
    String line = view.message(message.seq(), message.storedAt() == null ? clock.instant() : message.storedAt(),
        message.fromUser(), message.text());
    boolean isOpen;
    synchronized (this) {
      latestSeq.merge(conversationId, message.seq(), Math::max);
      Map<String, Instant> typingHere = typing.get(conversationId);
      if (typingHere != null) {
        typingHere.remove(message.fromUser());
      }
      isOpen = conversationId.equals(open);
      if (!listed.contains(conversationId)) {
        listed.add(conversationId);
      }
    }
    if (book.members(conversationId).isEmpty() && current != null) {
      current.client().receipts(conversationId).thenAccept(members -> learnMembers(conversationId, members));
    }
    screen.accept(record(conversationId, line));
    if (mine) {
      ownMessage(conversationId, message.seq());
    } else if (isOpen) {
      markRead(conversationId, message.seq());
    }
  }

  @Override
  public void onMember(MemberEvent event) {
    String conversationId = event.conversationId();
    Connection current = connection;
    if (event.participants() != null && !event.participants().isEmpty()) {
      book.rememberMembers(conversationId, event.participants());
    }
    boolean iLeft = current != null && event.change() == MemberEvent.Change.REMOVED
        && event.user().equals(current.accountId());
    String line = view.member(event);
    synchronized (this) {
      latestSeq.merge(conversationId, event.seq(), Math::max);
      if (!iLeft && !listed.contains(conversationId)) {
        listed.add(conversationId);
      }
    }
    screen.accept(record(conversationId, ChatView.notice(line)));
    if (iLeft) {
      synchronized (this) {
        listed.remove(conversationId);
        if (conversationId.equals(open)) {
          open = null;
        }
      }
      book.forgetConversation(conversationId);
    }
  }

  @Override
  public void onReceipt(Receipt receipt) {
    Connection current = connection;
    if (current != null && receipt.user().equals(current.accountId())) {
      return;
    }
    synchronized (this) {
      Marks mark = marks.computeIfAbsent(receipt.conversationId(), c -> new HashMap<>())
          .computeIfAbsent(receipt.user(), u -> new Marks());
      if (receipt.kind() == Receipt.Kind.READ) {
        mark.read = Math.max(mark.read, receipt.seq());
      }
      mark.delivered = Math.max(mark.delivered, receipt.seq());
    }
    showMarks(receipt.conversationId(), receipt.user());
  }

  @Override
  public void onTyping(TypingEvent event) {
    Connection current = connection;
    if (current != null && event.user().equals(current.accountId())) {
      return;
    }
    boolean show;
    synchronized (this) {
      Map<String, Instant> here = typing.computeIfAbsent(event.conversationId(), c -> new HashMap<>());
      Instant now = clock.instant();
      if (!event.active()) {
        here.remove(event.user());
        return;
      }
      Instant since = here.put(event.user(), now);
      show = since == null || !now.isBefore(since.plus(TYPING_STALE));
    }
    if (show) {
      screen.accept(tag(event.conversationId(), view.typing(event.user())));
    }
  }

  /**
   * A streamed reply in the making (an agent's partial answer): shown at most once a second per sender, as
   * the end of the text so far; the stored message follows as usual.
   */
  @Override
  public void onEphemeral(EphemeralMessage partial) {
    boolean show;
    synchronized (this) {
      String key = partial.conversationId() + " " + partial.fromUser();
      Instant now = clock.instant();
      Instant last = partialShown.get(key);
      show = last == null || !now.isBefore(last.plus(PARTIAL_EVERY));
      if (show) {
        partialShown.put(key, now);
      }
    }
    if (show) {
      screen.accept(tag(partial.conversationId(), view.partial(partial.fromUser(), partial.text())));
    }
  }

  @Override
  public void onSent(SentMessage sent) {
    ownMessage(sent.conversationId(), sent.seq());
  }

  @Override
  public void onConnectionState(ConnectionState state) {
    switch (state) {
      case RECONNECTING -> screen.accept(ChatView.notice("connection lost; reconnecting…"));
      case CONNECTED -> {
        if (connection != null) {
          screen.accept(ChatView.notice("connected"));
        }
      }
      case STOPPED -> {
        if (connection != null && !quitting) {
          screen.accept(ChatView.problem("disconnected for good; /quit and start again"));
        }
      }
      case CONNECTING -> { }
    }
  }

  @Override
  public void onError(ParleyClientException error) {
    String line = ChatView.problem(error instanceof ParleyClientException.UntrustedIdentity untrusted
        ? "a device of " + view.names().of(untrusted.user()) + " has a new identity key; check it with them,"
          + " then /trust " + view.names().of(untrusted.user())
        : error.getMessage());
    screen.accept(error.conversationId() == null ? line : tag(error.conversationId(), line));
  }

  // ---- helpers ----

  private void ownMessage(String conversationId, long seq) {
    synchronized (this) {
      ownSeqs.computeIfAbsent(conversationId, c -> new TreeSet<>()).add(seq);
    }
    List<String> users;
    synchronized (this) {
      users = new ArrayList<>(marks.getOrDefault(conversationId, Map.of()).keySet());
    }
    users.forEach(user -> showMarks(conversationId, user));
  }

  /** Prints ✓ / ✓✓ for the newest own message a member's receipts cover, once per advance. */
  private void showMarks(String conversationId, String user) {
    List<String> lines = new ArrayList<>();
    synchronized (this) {
      Marks mark = marks.getOrDefault(conversationId, Map.of()).get(user);
      NavigableSet<Long> own = ownSeqs.get(conversationId);
      if (mark == null || own == null) {
        return;
      }
      Long read = own.floor(mark.read);
      if (read != null && read > mark.shownRead) {
        mark.shownRead = read;
        mark.shownDelivered = Math.max(mark.shownDelivered, read);
        lines.add(tag(conversationId, view.read(user, read)));
      }
      Long delivered = own.floor(mark.delivered);
      if (delivered != null && delivered > mark.shownDelivered) {
        mark.shownDelivered = delivered;
        lines.add(tag(conversationId, view.delivered(user, delivered)));
      }
    }
    lines.forEach(screen);
  }

  private void markRead(String conversationId, long seq) {
    Connection current = connection;
    if (current == null || seq <= 0) {
      return;
    }
    synchronized (this) {
      if (seq <= readMarked.getOrDefault(conversationId, 0L)) {
        return;
      }
      readMarked.put(conversationId, seq);
    }
    current.client().markRead(conversationId, seq);
  }

  private void learnMembers(String conversationId, List<ReceiptMarkers> members) {
    List<String> ids = members.stream().map(ReceiptMarkers::user).toList();
    if (!ids.isEmpty()) {
      book.rememberMembers(conversationId, ids);
    }
  }

  /** Keeps the line for {@code /open} and returns it as it is shown now (tagged unless the conversation is open). */
  private String record(String conversationId, String line) {
    synchronized (this) {
      Deque<String> lines = history.computeIfAbsent(conversationId, c -> new ArrayDeque<>());
      lines.addLast(line);
      while (lines.size() > HISTORY) {
        lines.removeFirst();
      }
    }
    return tag(conversationId, line);
  }

  private synchronized String tag(String conversationId, String line) {
    if (conversationId.equals(open)) {
      return line;
    }
    int index = listed.indexOf(conversationId);
    return ChatView.tagged(ChatView.label(index < 0 ? null : index + 1, others(conversationId)), line);
  }

  private String others(String conversationId) {
    Connection current = connection;
    return book.members(conversationId)
        .map(members -> view.names().others(members, current == null ? "" : current.accountId()))
        .orElse(conversationId);
  }
}
