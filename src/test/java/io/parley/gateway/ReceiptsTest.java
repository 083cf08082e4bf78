package io.parley.gateway;

import static io.parley.gateway.BadInputAssertions.assertEchoes;
import static io.parley.gateway.BadInputAssertions.nextError;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static io.parley.testing.Chat.resume;
import static io.parley.testing.Chat.send;
import static io.parley.testing.Chat.sendUntilAcked;
import static org.assertj.core.api.Assertions.assertThat;

import io.parley.ParleyNode;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.ReceiptKind;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.TestNode;
import io.parley.testing.WsClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Delivered and read receipts reach the other members live, never go backwards, and outlive a restart. */
class ReceiptsTest {
  @TempDir Path dataDir;
  private ParleyNode node;
  private final List<WsClient> clients = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    clients.forEach(WsClient::close);
    TestNode.stop(node);
  }

  @Test
  void receiptsReachTheOtherMemberLiveNeverBackwardsAndSurviveARestart() {
    node = TestNode.start(dataDir);
    int port = node.httpAddress().getPort();
    Account alice = DevAccounts.login(port, "alice-receipts");
    Account bob = DevAccounts.login(port, "bob-receipts");
    String id = newConversationId();
    WsClient a = track(resume(port, alice, 1, Map.of()));
    WsClient b = track(resume(port, bob, 1, Map.of()));
    Chat.create(a, id, List.of(bob.accountId()));
    for (int i = 1; i <= 3; i++) {
      sendUntilAcked(a, send(id, newKey(), bob, "m" + i));
    }
    b.next(ServerFrame.Member.class);
    for (long seq = 2; seq <= 4; seq++) {
      assertThat(b.next(ServerFrame.Message.class).seq()).isEqualTo(seq);
    }

    b.send(new ClientFrame.DeliveryAck(id, 4));
    assertThat(a.receipt(r -> r.kind() == ReceiptKind.DELIVERED))
        .isEqualTo(new ServerFrame.Receipt(id, bob.accountId(), ReceiptKind.DELIVERED, 4));
    b.send(new ClientFrame.Read(id, 3));
    assertThat(a.receipt(r -> r.kind() == ReceiptKind.READ))
        .isEqualTo(new ServerFrame.Receipt(id, bob.accountId(), ReceiptKind.READ, 3));

    // going backwards is ignored: nothing lower than what alice already has is ever pushed
    b.send(new ClientFrame.DeliveryAck(id, 2));
    b.send(new ClientFrame.Read(id, 2));
    b.send(new ClientFrame.Read(id, 3));
    b.send(new ClientFrame.Read(id, 4));
    assertThat(a.receipt(r -> r.kind() == ReceiptKind.READ).seq()).isEqualTo(4);
    assertThat(a.drainReceipts(Duration.ofMillis(300))).as("nothing lower or repeated").isEmpty();
    assertThat(b.drainReceipts(Duration.ofMillis(100))).as("a reader hears nothing of its own receipts").isEmpty();

    // a read beyond the conversation's last seq is refused and changes nothing
    b.send(new ClientFrame.Read(id, 5));
    assertEchoes(nextError(b, "invalid_request"), null, id, null);

    b.send(new ClientFrame.Receipts("r1", id));
    assertThat(b.next(ServerFrame.Receipts.class)).isEqualTo(new ServerFrame.Receipts("r1", id, List.of(
        new ServerFrame.Markers(alice.accountId(), 0, 0), new ServerFrame.Markers(bob.accountId(), 4, 4))));
    TestNode.stop(node);

    node = TestNode.start(dataDir);
    port = node.httpAddress().getPort();
    WsClient again = track(resume(port, alice, 1, Map.of(id, 4L)));
    again.send(new ClientFrame.Receipts("r2", id));
    assertThat(again.await(ServerFrame.Receipts.class, r -> true).members())
        .as("the markers are durable").contains(new ServerFrame.Markers(bob.accountId(), 4, 4));
  }

  @Test
  void onlyParticipantsMaySendOrAskForReceipts() {
    node = TestNode.start(dataDir);
    int port = node.httpAddress().getPort();
    Account alice = DevAccounts.login(port, "alice-receipts-np");
    Account bob = DevAccounts.login(port, "bob-receipts-np");
    Account mallory = DevAccounts.login(port, "mallory-receipts-np");
    String id = newConversationId();
    WsClient a = track(resume(port, alice, 1, Map.of()));
    WsClient m = track(resume(port, mallory, 1, Map.of()));
    Chat.register(port, bob, 1);
    Chat.create(a, id, List.of(bob.accountId()));
    sendUntilAcked(a, send(id, newKey(), bob, "private"));

    m.send(new ClientFrame.Read(id, 2));
    assertEchoes(nextError(m, "not_participant"), null, id, null);
    m.send(new ClientFrame.Receipts("peek", id));
    assertEchoes(nextError(m, "not_participant"), "peek", id, null);
    m.send(new ClientFrame.DeliveryAck(id, 2));

    assertThat(a.drainReceipts(Duration.ofMillis(300))).as("no receipt from a non-participant").isEmpty();
    a.send(new ClientFrame.Receipts("mine", id));
    assertThat(a.await(ServerFrame.Receipts.class, r -> true).members()).containsExactly(
        new ServerFrame.Markers(alice.accountId(), 0, 0), new ServerFrame.Markers(bob.accountId(), 0, 0));
  }

  private WsClient track(WsClient client) {
    clients.add(client);
    return client;
  }
}
