package io.parley.gateway;

import static io.parley.testing.Chat.connect;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static io.parley.testing.Chat.send;
import static io.parley.testing.Chat.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.parley.protocol.ClientFrame;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** WebSocket clients chat through a running node on the embedded stores. */
class ChatIntegrationTest {
  @RegisterExtension
  static final NodeExtension parley = new NodeExtension();

  private static String createConversation(WsClient creator, Account... others) {
    String id = newConversationId();
    creator.send(new ClientFrame.Create("r1", id,
        java.util.Arrays.stream(others).map(Account::accountId).toList()));
    ServerFrame.Created created = creator.await(ServerFrame.Created.class, c -> c.conversationId().equals(id));
    assertThat(created.seq()).isEqualTo(1);
    return id;
  }

  @Test
  void twoClientsChatInOrderWithGapFreeSeqs() {
    Account alice = DevAccounts.login(parley.port(), "alice-chat");
    Account bob = DevAccounts.login(parley.port(), "bob-chat");
    try (WsClient a = connect(parley.port(), alice); WsClient b = connect(parley.port(), bob)) {
      String id = createConversation(a, bob);
      ServerFrame.Member created = b.next(ServerFrame.Member.class);
      assertThat(created.change()).isEqualTo("created");
      assertThat(created.participants()).containsExactly(alice.accountId(), bob.accountId());

      for (int i = 1; i <= 20; i++) {
        a.send(send(id, newKey(), bob, "hello " + i));
      }
      List<Long> ackSeqs = new ArrayList<>();
      for (int i = 1; i <= 20; i++) {
        ackSeqs.add(a.await(ServerFrame.Ack.class, x -> true).seq());
      }
      assertThat(ackSeqs).containsExactlyInAnyOrderElementsOf(
          java.util.stream.LongStream.rangeClosed(2, 21).boxed().toList());

      for (int i = 1; i <= 20; i++) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        assertThat(message.seq()).isEqualTo(i + 1);
        assertThat(message.fromUser()).isEqualTo(alice.accountId());
        assertThat(text(message)).isEqualTo("hello " + i);
      }
    }
  }

  @Test
  void aRepeatedIdempotencyKeyIsAcknowledgedWithTheOriginalSeqAndDeliveredOnce() {
    Account alice = DevAccounts.login(parley.port(), "alice-dup");
    Account bob = DevAccounts.login(parley.port(), "bob-dup");
    try (WsClient a = connect(parley.port(), alice); WsClient b = connect(parley.port(), bob)) {
      String id = createConversation(a, bob);
      b.next(ServerFrame.Member.class);
      String key = newKey();
      a.send(send(id, key, bob, "once"));
      ServerFrame.Ack first = a.await(ServerFrame.Ack.class, x -> true);
      a.send(send(id, key, bob, "once"));
      ServerFrame.Ack second = a.await(ServerFrame.Ack.class, x -> true);

      assertThat(first.duplicate()).isFalse();
      assertThat(second.duplicate()).isTrue();
      assertThat(second.seq()).isEqualTo(first.seq());
      assertThat(b.next(ServerFrame.Message.class).seq()).isEqualTo(first.seq());
      a.send(send(id, newKey(), bob, "next"));
      assertThat(b.next(ServerFrame.Message.class).seq()).isEqualTo(first.seq() + 1);
    }
  }

  @Test
  void aDisconnectedDeviceResumesFromItsCursorWithNothingMissingOrRepeated() {
    Account alice = DevAccounts.login(parley.port(), "alice-resume");
    Account bob = DevAccounts.login(parley.port(), "bob-resume");
    String id;
    long lastSeen;
    try (WsClient a = connect(parley.port(), alice)) {
      try (WsClient b = connect(parley.port(), bob)) {
        id = createConversation(a, bob);
        lastSeen = b.next(ServerFrame.Member.class).seq();
        a.send(send(id, newKey(), bob, "while online"));
        lastSeen = b.next(ServerFrame.Message.class).seq();
      }
      for (int i = 0; i < 5; i++) {
        a.send(send(id, newKey(), bob, "offline " + i));
        a.await(ServerFrame.Ack.class, x -> true);
      }
    }
    try (WsClient b = connect(parley.port(), bob, 1, Map.of(id, lastSeen))) {
      List<String> texts = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        assertThat(message.seq()).isEqualTo(lastSeen + 1 + i);
        texts.add(text(message));
      }
      assertThat(texts).containsExactly("offline 0", "offline 1", "offline 2", "offline 3", "offline 4");
      assertThat(b.poll(Duration.ofMillis(300))).isNull();
    }
  }

  @Test
  void acknowledgedCursorsArePersistedSoAResumeWithoutCursorsGetsOnlyWhatIsMissing() {
    Account alice = DevAccounts.login(parley.port(), "alice-cursor");
    Account bob = DevAccounts.login(parley.port(), "bob-cursor");
    String id;
    try (WsClient a = connect(parley.port(), alice)) {
      try (WsClient b = connect(parley.port(), bob)) {
        id = createConversation(a, bob);
        b.next(ServerFrame.Member.class);
        a.send(send(id, newKey(), bob, "seen"));
        long seq = b.next(ServerFrame.Message.class).seq();
        b.send(new ClientFrame.DeliveryAck(id, seq));
        // the answer to a ping comes after the ack was handed on: only then is it safe to hang up
        b.send(new ClientFrame.Ping("after-ack"));
        b.await(ServerFrame.Pong.class, pong -> true);
      }
      a.send(send(id, newKey(), bob, "missed"));
      a.await(ServerFrame.Ack.class, x -> true);
    }
    try (WsClient b = connect(parley.port(), bob, 1, Map.of())) {
      ServerFrame.Message message = b.next(ServerFrame.Message.class);
      assertThat(text(message)).isEqualTo("missed");
      assertThat(b.poll(Duration.ofMillis(300))).isNull();
    }
  }

  @Test
  void fetchReturnsARangeInOrderThenFetched() {
    Account alice = DevAccounts.login(parley.port(), "alice-fetch");
    Account bob = DevAccounts.login(parley.port(), "bob-fetch");
    Chat.register(parley.port(), bob, 1); // bob has a device, offline while alice writes
    String id;
    try (WsClient a = connect(parley.port(), alice)) {
      id = createConversation(a, bob);
      for (int i = 0; i < 6; i++) {
        a.send(send(id, newKey(), bob, "m" + i));
        a.await(ServerFrame.Ack.class, x -> true);
      }
    }
    try (WsClient b = connect(parley.port(), bob, 1, Map.of(id, 7L))) {
      b.send(new ClientFrame.Fetch("f1", id, 3, 5));
      List<String> texts = new ArrayList<>();
      List<Long> seqs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        ServerFrame.Message message = b.next(ServerFrame.Message.class);
        seqs.add(message.seq());
        texts.add(text(message));
      }
      assertThat(seqs).containsExactly(3L, 4L, 5L);
      assertThat(texts).containsExactly("m1", "m2", "m3");
      assertThat(b.next(ServerFrame.Fetched.class).requestId()).isEqualTo("f1");
      assertThat(b.poll(Duration.ofMillis(300))).as("nothing beyond the cursor is pushed").isNull();
    }
  }

  @Test
  void theSendingDeviceHasItsSeqFromTheAckAndItsOwnMessageOnlyThroughFetch() {
    Account alice = DevAccounts.login(parley.port(), "alice-echo");
    Account bob = DevAccounts.login(parley.port(), "bob-echo");
    Chat.register(parley.port(), bob, 1);
    String id = newConversationId();
    try (WsClient a = connect(parley.port(), alice); WsClient b = connect(parley.port(), bob)) {
      a.send(new ClientFrame.Create("r1", id, List.of(bob.accountId())));
      // the answer and the creator's own copy of the event race: take them in either order
      List<ServerFrame> frames = List.of(a.next(ServerFrame.class), a.next(ServerFrame.class));
      assertThat(frames).anySatisfy(f -> assertThat(f).isInstanceOfSatisfying(ServerFrame.Created.class,
          created -> assertThat(created.seq()).isEqualTo(1)));
      assertThat(frames).anySatisfy(f -> assertThat(f).isInstanceOfSatisfying(ServerFrame.Member.class,
          member -> assertThat(member.seq()).isEqualTo(1)));
      a.send(send(id, newKey(), bob, "hi"));
      assertThat(a.await(ServerFrame.Ack.class, ack -> true).seq()).isEqualTo(2);
      assertThat(b.await(ServerFrame.Message.class, m -> m.seq() == 2).envelope()).isNotNull();
      b.send(send(id, newKey(), alice, "hi back"));
      ServerFrame.Message answer = a.await(ServerFrame.Message.class, m -> m.conversationId().equals(id));
      assertThat(answer.seq()).as("no frame for the sender's own seq 2 comes before the next message").isEqualTo(3);
      assertThat(answer.envelope()).isNotNull();
    }
    try (WsClient again = connect(parley.port(), alice, 1, Map.of(id, 1L))) {
      ServerFrame.Message next = again.await(ServerFrame.Message.class, m -> m.conversationId().equals(id));
      assertThat(next.seq()).as("catching up skips the device's own seq 2 too").isEqualTo(3);
      again.send(new ClientFrame.Fetch("f-own", id, 2, 2));
      ServerFrame.Message own = again.next(ServerFrame.Message.class);
      assertThat(own.seq()).as("a fetch returns it").isEqualTo(2);
      assertThat(own.fromUser()).isEqualTo(alice.accountId());
      assertThat(own.envelope()).as("no ciphertext for the sending device itself").isNull();
      assertThat(again.next(ServerFrame.Fetched.class).requestId()).isEqualTo("f-own");
    }
  }

  @Test
  void aSecondConnectionForTheSameDeviceReplacesTheFirst() {
    Account carol = DevAccounts.login(parley.port(), "carol-replace");
    Account dave = DevAccounts.login(parley.port(), "dave-replace");
    try (WsClient first = connect(parley.port(), carol); WsClient d = connect(parley.port(), dave)) {
      String id = createConversation(d, carol);
      first.next(ServerFrame.Member.class);
      try (WsClient second = connect(parley.port(), carol, 1, Map.of(id, 1L))) {
        ServerFrame.Close close = first.await(ServerFrame.Close.class, c -> true);
        assertThat(close.code()).isEqualTo(Connection.CLOSE_REPLACED);
        assertThat(first.awaitClose()).isEqualTo(1000);

        d.send(send(id, newKey(), carol, "to the new one"));
        assertThat(text(second.next(ServerFrame.Message.class))).isEqualTo("to the new one");
      }
    }
  }
}
