package io.parley.gateway;

import static io.parley.gateway.BadInputAssertions.assertAlive;
import static io.parley.gateway.BadInputAssertions.assertClosedWith;
import static io.parley.gateway.BadInputAssertions.assertEchoes;
import static io.parley.gateway.BadInputAssertions.nextError;
import static io.parley.testing.Chat.connect;
import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.ClientFrame;
import io.parley.protocol.Envelope;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.TestKeys;
import io.parley.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every kind of bad input a client can send, over real WebSockets and HTTP to a running node: each gets
 * its documented error code, changes nothing (the conversation's next seq is unchanged, nobody else
 * receives anything) and leaves the connection open, unless the protocol says it closes.
 */
class BadInputTest {
  private static final int MAX_FRAME_CHARS = 8192;
  private static final int MAX_ENVELOPE_BYTES = 1024;
  private static final int MAX_ENVELOPES = 4;
  private static final int MAX_DEVICES = 3;
  private static final AtomicInteger NAMES = new AtomicInteger();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
        "parley.protocol.max-frame-bytes", MAX_FRAME_CHARS,
        "parley.protocol.max-envelope-bytes", MAX_ENVELOPE_BYTES,
        "parley.protocol.max-envelopes", MAX_ENVELOPES,
        "parley.session.max-devices-per-user", MAX_DEVICES));

  private static Account newAccount(String role) {
    return DevAccounts.login(parley.port(), role + "-" + NAMES.incrementAndGet());
  }

  private static String base64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** A well-formed stand-in ciphertext carrying {@code text}. */
  private static String base64(String text) {
    return Chat.body(text);
  }

  /** {@code size} bytes that start as a version 4 Signal message does. */
  private static byte[] signal(int size) {
    byte[] body = new byte[size];
    body[0] = Envelope.VERSION_BYTE;
    return body;
  }

  /**
   * Alice and Bob connected, with a conversation of the two at seq 1 and every frame so far consumed, so
   * that any frame either of them gets next is caused by the test.
   */
  static final class Room implements AutoCloseable {
    final Account alice = newAccount("alice");
    final Account bob = newAccount("bob");
    final WsClient a = connect(parley.port(), alice);
    final WsClient b = connect(parley.port(), bob);
    final String id = newConversationId();
    long lastSeq;

    Room() {
      a.send(new ClientFrame.Create("create-1", id, List.of(bob.accountId())));
      List<ServerFrame> frames = List.of(a.next(ServerFrame.class), a.next(ServerFrame.class));
      assertThat(frames).filteredOn(ServerFrame.Created.class::isInstance).singleElement()
          .isEqualTo(new ServerFrame.Created("create-1", id, 1));
      assertThat(frames).filteredOn(ServerFrame.Member.class::isInstance).singleElement()
          .extracting(f -> ((ServerFrame.Member) f).seq()).isEqualTo(1L);
      assertThat(b.next(ServerFrame.Member.class).seq()).isEqualTo(1);
      lastSeq = 1;
    }

    ClientFrame.Send sendToBob(String key, String text) {
      return new ClientFrame.Send(id, key, List.of(Chat.envelope(bob, 1, text)));
    }

    /** Alice sends a new message: she gets its ack (and no copy of her own); Bob gets it. */
    ServerFrame.Ack sendOk(ClientFrame.Send send) {
      a.send(send);
      ServerFrame.Ack ack = a.next(ServerFrame.Ack.class);
      assertThat(ack.duplicate()).isFalse();
      assertThat(ack.idempotencyKey()).isEqualTo(send.idempotencyKey());
      ServerFrame.Message received = b.next(ServerFrame.Message.class);
      assertThat(received.seq()).isEqualTo(ack.seq());
      assertThat(received.fromUser()).isEqualTo(alice.accountId());
      lastSeq = ack.seq();
      return ack;
    }

    /**
     * Nothing changed: both connections still answer with nothing queued before the pong (so Bob received
     * nothing), and Alice's next message takes the very next seq.
     */
    void assertUntouched() {
      assertAlive(a);
      assertAlive(b);
      long before = lastSeq;
      String text = "after " + before;
      sendOk(sendToBob(newKey(), text));
      assertThat(lastSeq).as("the next message takes the next seq").isEqualTo(before + 1);
    }

    @Override
    public void close() {
      a.close();
      b.close();
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Frames {
    Room room;

    @BeforeEach
    void open() {
      room = new Room();
    }

    @AfterEach
    void close() {
      room.close();
    }

    @Test
    void malformedJsonIsAMalformedFrame() {
      for (String text : List.of("{\"type\":\"send\",", "not json", "{type:\"ping\"}", "{\"type\":\"ping\"",
          "{\"type\":\"ping\",\"type\":\"ping\"}", "")) {
        room.a.sendRaw(text);
        assertEchoes(nextError(room.a, "malformed_frame"), null, null, null);
      }
      room.assertUntouched();
    }

    @Test
    void jsonThatIsNotAnObjectIsAMalformedFrame() {
      for (String text : List.of("[{\"type\":\"ping\"}]", "\"ping\"", "42", "null", "true")) {
        room.a.sendRaw(text);
        nextError(room.a, "malformed_frame");
      }
      room.assertUntouched();
    }

    @Test
    void anObjectWithoutATypeIsAMalformedFrame() {
      room.a.sendRaw("{\"conversationId\":\"" + room.id + "\",\"idempotencyKey\":\"k-12345678\"}");
      nextError(room.a, "malformed_frame");
      room.a.sendRaw("{}");
      nextError(room.a, "malformed_frame");
      room.assertUntouched();
    }

    @Test
    void anUnknownTypeIsAnsweredUnknownType() {
      room.a.sendRaw("{\"type\":\"shout\",\"conversationId\":\"" + room.id + "\"}");
      nextError(room.a, "unknown_type");
      room.a.sendRaw("{\"type\":\"Send\"}");
      nextError(room.a, "unknown_type");
      room.assertUntouched();
    }

    @Test
    void trailingGarbageMakesEvenAValidFrameMalformedAndNothingIsStored() {
      String send = rawSend(room.id, newKey(), envelopeJson(room.bob.accountId(), 1, base64("smuggled")));
      for (String text : List.of(send + " x", send + send, send + "]", "{\"type\":\"ping\",\"nonce\":\"n1\"} 1")) {
        room.a.sendRaw(text);
        nextError(room.a, "malformed_frame");
      }
      room.assertUntouched();
    }

    @Test
    void fieldsOfTheWrongTypeAreAnInvalidRequest() {
      String envelope = envelopeJson(room.bob.accountId(), 1, base64("x"));
      String key = newKey();
      room.a.sendRaw("{\"type\":\"send\",\"conversationId\":\"" + room.id + "\",\"idempotencyKey\":\"" + key
          + "\",\"envelopes\":" + envelope + "}");
      assertEchoes(nextError(room.a, "invalid_request"), null, room.id, key);

      room.a.sendRaw("{\"type\":\"send\",\"conversationId\":\"" + room.id + "\",\"idempotencyKey\":\"" + key
          + "\",\"envelopes\":[{\"user\":\"" + room.bob.accountId() + "\",\"device\":\"1\",\"type\":2,"
          + "\"body\":\"eA==\"}]}");
      assertEchoes(nextError(room.a, "invalid_request"), null, room.id, key);

      room.a.sendRaw("{\"type\":\"fetch\",\"requestId\":\"f-types\",\"conversationId\":\"" + room.id
          + "\",\"fromSeq\":\"1\",\"toSeq\":1}");
      assertEchoes(nextError(room.a, "invalid_request"), "f-types", room.id, null);

      room.a.sendRaw("{\"type\":\"addMember\",\"requestId\":\"r-types\",\"conversationId\":\"" + room.id
          + "\",\"user\":[\"" + newAccount("carol").accountId() + "\"]}");
      assertEchoes(nextError(room.a, "invalid_request"), "r-types", room.id, null);

      room.a.sendRaw("{\"type\":\"deliveryAck\",\"conversationId\":\"" + room.id + "\",\"seq\":1.5}");
      nextError(room.a, "invalid_request");
      room.a.sendRaw("{\"type\":\"ping\",\"nonce\":5}");
      nextError(room.a, "invalid_request");
      room.assertUntouched();
    }

    @Test
    void aTextFrameOverTheLimitIsDroppedAndAnswered() {
      room.a.sendRaw(paddedSend(MAX_FRAME_CHARS + 1));
      assertEchoes(nextError(room.a, "frame_too_large"), null, null, null);
      room.assertUntouched();
    }

    @Test
    void aFrameOfExactlyTheLimitIsAccepted() {
      String text = paddedSend(MAX_FRAME_CHARS);
      assertThat(text).hasSize(MAX_FRAME_CHARS);
      room.a.sendRaw(text);
      assertThat(room.a.await(ServerFrame.Ack.class, ack -> true).seq()).isEqualTo(2);
      assertThat(room.b.next(ServerFrame.Message.class).seq()).isEqualTo(2);
    }

    @Test
    void aFragmentedTextMessageOverTheLimitIsDroppedAndAnswered() {
      String text = paddedSend(3 * MAX_FRAME_CHARS);
      int third = text.length() / 3;
      room.a.sendFragmented(text.substring(0, third), text.substring(third, 2 * third), text.substring(2 * third));
      nextError(room.a, "frame_too_large");
      room.assertUntouched();
    }

    @Test
    void aFragmentedTextMessageWithinTheLimitIsReassembled() {
      String text = paddedSend(MAX_FRAME_CHARS - 100);
      int half = text.length() / 2;
      room.a.sendFragmented(text.substring(0, half), text.substring(half));
      assertThat(room.a.await(ServerFrame.Ack.class, ack -> true).seq()).isEqualTo(2);
      assertThat(room.b.next(ServerFrame.Message.class).seq()).isEqualTo(2);
    }

    @Test
    void aBinaryMessageIsNotSupported() {
      byte[] frame = rawSend(room.id, newKey(), envelopeJson(room.bob.accountId(), 1, base64("bin")))
          .getBytes(StandardCharsets.UTF_8);
      room.a.sendBinary(frame);
      nextError(room.a, "binary_not_supported");
      room.a.sendBinary(new byte[3 * MAX_FRAME_CHARS]);
      nextError(room.a, "binary_not_supported");
      room.assertUntouched();
    }

    /** A valid send of exactly {@code chars} characters, padded with an unknown field. */
    private String paddedSend(int chars) {
      String head = "{\"type\":\"send\",\"conversationId\":\"" + room.id + "\",\"idempotencyKey\":\"" + newKey()
          + "\",\"envelopes\":[" + envelopeJson(room.bob.accountId(), 1, base64("padded")) + "],\"pad\":\"";
      String tail = "\"}";
      return head + "p".repeat(chars - head.length() - tail.length()) + tail;
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Hello {

    @Test
    void requestsBeforeHelloAreRefusedAndTheConnectionStaysOpenForTheHello() {
      Account alice = newAccount("alice");
      Account bob = newAccount("bob");
      String id = newConversationId();
      try (WsClient client = WsClient.connect(parley.port())) {
        client.send(new ClientFrame.Create("early", id, List.of(bob.accountId())));
        nextError(client, "hello_required");
        client.send(new ClientFrame.Send(id, newKey(), List.of(Chat.envelope(bob, 1, "early"))));
        nextError(client, "hello_required");
        client.send(new ClientFrame.Fetch("f-early", id, 1, 1));
        nextError(client, "hello_required");
        client.send(new ClientFrame.ListConversations("l-early"));
        nextError(client, "hello_required");
        client.send(new ClientFrame.DeliveryAck(id, 1));
        nextError(client, "hello_required");
        assertAlive(client);

        Chat.register(parley.port(), alice, 1);
        client.send(new ClientFrame.Hello(alice.token(), 1, Map.of()));
        assertThat(client.next(ServerFrame.Welcome.class).user()).isEqualTo(alice.accountId());
        client.send(new ClientFrame.Create("late", id, List.of(bob.accountId())));
        assertThat(client.await(ServerFrame.Created.class, c -> true).seq())
            .as("the create before hello left no trace").isEqualTo(1);
      }
    }

    @Test
    void aSecondHelloIsRefusedAndTheFirstIdentityStays() {
      try (Room room = new Room()) {
        room.a.send(new ClientFrame.Hello(room.alice.token(), 1, Map.of()));
        nextError(room.a, "already_authenticated");
        room.a.send(new ClientFrame.Hello(room.bob.token(), 2, Map.of(room.id, 0L)));
        nextError(room.a, "already_authenticated");
        room.assertUntouched();
        room.a.send(new ClientFrame.ListConversations("mine"));
        assertThat(room.a.next(ServerFrame.Conversations.class).items())
            .extracting(ServerFrame.Summary::conversationId).containsExactly(room.id);
      }
    }

    @Test
    void aDeviceBeyondTheLimitCannotBeRegisteredAndItsHelloIsClosedWith4005() {
      Account carol = newAccount("carol");
      for (int device = 1; device <= MAX_DEVICES; device++) {
        try (WsClient ok = connect(parley.port(), carol, device, Map.of())) {
          assertAlive(ok);
        }
      }
      for (int device : new int[] {MAX_DEVICES + 1, 127}) {
        HttpResponse<String> put = TestKeys.put(parley.port(), carol.token(), device,
            TestKeys.generate(1).putBody());
        assertThat(put.statusCode()).isEqualTo(409);
        assertThat(put.body()).contains("too_many_devices");
        try (WsClient refused = WsClient.connect(parley.port())) {
          refused.send(new ClientFrame.Hello(carol.token(), device, Map.of()));
          nextError(refused, "unknown_device");
          assertClosedWith(refused, Connection.CLOSE_UNKNOWN_DEVICE);
        }
      }
      try (WsClient again = connect(parley.port(), carol, MAX_DEVICES, Map.of())) {
        assertAlive(again);
      }
    }

    @Test
    void aHelloFromADeviceWithoutDirectoryEntryIsClosedWith4005() {
      Account erin = newAccount("erin");
      try (WsClient never = WsClient.connect(parley.port())) {
        never.send(new ClientFrame.Hello(erin.token(), 1, Map.of()));
        ServerFrame.Error error = nextError(never, "unknown_device");
        assertThat(error.retryable()).isFalse();
        assertClosedWith(never, Connection.CLOSE_UNKNOWN_DEVICE);
      }
      Chat.register(parley.port(), erin, 2);
      try (WsClient other = WsClient.connect(parley.port())) {
        other.send(new ClientFrame.Hello(erin.token(), 1, Map.of()));
        nextError(other, "unknown_device");
        assertClosedWith(other, Connection.CLOSE_UNKNOWN_DEVICE);
      }
      try (WsClient registered = connect(parley.port(), erin, 2, Map.of())) {
        assertAlive(registered);
      }
      assertThat(TestKeys.delete(parley.port(), erin.token(), "/v1/keys/devices/2").statusCode()).isEqualTo(204);
      try (WsClient unlinked = WsClient.connect(parley.port())) {
        unlinked.send(new ClientFrame.Hello(erin.token(), 2, Map.of()));
        nextError(unlinked, "unknown_device");
        assertClosedWith(unlinked, Connection.CLOSE_UNKNOWN_DEVICE);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Conversations {

    @Test
    void aSendToAnUnknownConversationIsRefusedAndCreatesNothing() {
      try (Room room = new Room()) {
        String unknown = newConversationId();
        String key = newKey();
        room.a.send(new ClientFrame.Send(unknown, key, List.of(Chat.envelope(room.bob, 1, "into the void"))));
        assertEchoes(nextError(room.a, "unknown_conversation"), null, unknown, key);
        room.a.send(new ClientFrame.Fetch("f-unknown", unknown, 1, 5));
        assertEchoes(nextError(room.a, "unknown_conversation"), "f-unknown", unknown, null);
        room.a.send(new ClientFrame.AddMember("a-unknown", unknown, room.bob.accountId()));
        assertEchoes(nextError(room.a, "unknown_conversation"), "a-unknown", unknown, null);
        room.a.send(new ClientFrame.RemoveMember("d-unknown", unknown, room.bob.accountId()));
        assertEchoes(nextError(room.a, "unknown_conversation"), "d-unknown", unknown, null);
        room.assertUntouched();

        room.a.send(new ClientFrame.Create("c-later", unknown, List.of(room.bob.accountId())));
        assertThat(room.a.await(ServerFrame.Created.class, c -> c.conversationId().equals(unknown)).seq())
            .as("nothing was stored under the unknown id").isEqualTo(1);
        ServerFrame.Member created = room.b.next(ServerFrame.Member.class);
        assertThat(created.seq()).isEqualTo(1);
        assertThat(created.participants()).containsExactly(room.alice.accountId(), room.bob.accountId());
      }
    }

    @Test
    void aNonParticipantCannotSendFetchOrChangeMembers() {
      try (Room room = new Room(); WsClient carol = connect(parley.port(), newAccount("carol"))) {
        room.sendOk(room.sendToBob(newKey(), "private"));
        String key = newKey();
        carol.send(new ClientFrame.Send(room.id, key, List.of(Chat.envelope(room.bob, 1, "let me in"))));
        assertEchoes(nextError(carol, "not_participant"), null, room.id, key);
        carol.send(new ClientFrame.Fetch("f-peek", room.id, 1, 2));
        assertEchoes(nextError(carol, "not_participant"), "f-peek", room.id, null);
        Account dave = newAccount("dave");
        carol.send(new ClientFrame.AddMember("a-dave", room.id, dave.accountId()));
        assertEchoes(nextError(carol, "not_participant"), "a-dave", room.id, null);
        carol.send(new ClientFrame.RemoveMember("r-bob", room.id, room.bob.accountId()));
        assertEchoes(nextError(carol, "not_participant"), "r-bob", room.id, null);
        carol.send(new ClientFrame.Typing(room.id, true));
        assertAlive(carol);
        room.assertUntouched();
        room.a.send(new ClientFrame.Fetch("f-members", room.id, 1, 1));
        assertThat(room.a.next(ServerFrame.Member.class).participants())
            .containsExactly(room.alice.accountId(), room.bob.accountId());
        room.a.next(ServerFrame.Fetched.class);
      }
    }

    @Test
    void onlyTheCreatorRemovesOthers() {
      try (Room room = new Room()) {
        room.b.send(new ClientFrame.RemoveMember("kick", room.id, room.alice.accountId()));
        assertEchoes(nextError(room.b, "not_participant"), "kick", room.id, null);
        room.assertUntouched();
      }
    }

    @Test
    void aCreateWithoutAnotherParticipantIsInvalidAndLeavesTheIdFree() {
      try (Room room = new Room()) {
        String id = newConversationId();
        room.a.send(new ClientFrame.Create("alone-1", id, List.of()));
        assertEchoes(nextError(room.a, "invalid_request"), "alone-1", id, null);
        room.a.send(new ClientFrame.Create("alone-2", id, List.of(room.alice.accountId())));
        assertEchoes(nextError(room.a, "invalid_request"), "alone-2", id, null);
        room.a.sendRaw("{\"type\":\"create\",\"requestId\":\"alone-3\",\"conversationId\":\"" + id + "\"}");
        assertEchoes(nextError(room.a, "invalid_request"), "alone-3", id, null);
        room.assertUntouched();

        room.a.send(new ClientFrame.Create("together", id, List.of(room.bob.accountId())));
        assertThat(room.a.await(ServerFrame.Created.class, c -> c.conversationId().equals(id)).seq()).isEqualTo(1);
        assertThat(room.b.next(ServerFrame.Member.class).seq()).isEqualTo(1);
      }
    }

    @Test
    void aCreateOnAnIdInUseByAnotherCreatorIsRefused() {
      try (Room room = new Room(); WsClient carol = connect(parley.port(), newAccount("carol"))) {
        carol.send(new ClientFrame.Create("steal-1", room.id, List.of(room.alice.accountId())));
        assertEchoes(nextError(carol, "conversation_exists"), "steal-1", room.id, null);
        carol.send(new ClientFrame.Create("steal-2", room.id,
            List.of(room.alice.accountId(), room.bob.accountId())));
        assertEchoes(nextError(carol, "conversation_exists"), "steal-2", room.id, null);
        room.b.send(new ClientFrame.Create("steal-3", room.id, List.of(room.alice.accountId())));
        assertEchoes(nextError(room.b, "conversation_exists"), "steal-3", room.id, null);
        room.a.send(new ClientFrame.Create("other-members", room.id,
            List.of(room.bob.accountId(), newAccount("dave").accountId())));
        assertEchoes(nextError(room.a, "conversation_exists"), "other-members", room.id, null);
        assertAlive(carol);
        room.assertUntouched();

        room.a.send(new ClientFrame.Create("retry", room.id, List.of(room.bob.accountId())));
        assertThat(room.a.next(ServerFrame.Created.class))
            .as("the creator's identical retry gets the original answer")
            .isEqualTo(new ServerFrame.Created("retry", room.id, 1));
        room.assertUntouched();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Sends {
    Room room;

    @BeforeEach
    void open() {
      room = new Room();
    }

    @AfterEach
    void close() {
      room.close();
    }

    private ServerFrame.Error refused(String code, String key, Envelope... envelopes) {
      room.a.send(new ClientFrame.Send(room.id, key, List.of(envelopes)));
      ServerFrame.Error error = nextError(room.a, code);
      assertEchoes(error, null, room.id, key);
      return error;
    }

    /** The same for envelopes given as JSON: those a client library would not even build. */
    private void refusedRaw(String code, String key, String... envelopes) {
      room.a.sendRaw(rawSend(room.id, key, String.join(",", envelopes)));
      assertEchoes(nextError(room.a, code), null, room.id, key);
    }

    private String bobJson(int type, String body) {
      return "{\"user\":\"" + room.bob.accountId() + "\",\"device\":1,\"type\":" + type + ",\"body\":\"" + body
          + "\"}";
    }

    /** A refused send did not use up its key: the same key now stores a new message. */
    private void assertKeyStillFresh(String key) {
      room.assertUntouched();
      long before = room.lastSeq;
      assertThat(room.sendOk(room.sendToBob(key, "now valid")).seq()).isEqualTo(before + 1);
    }

    private Envelope toBob(int device, String body) {
      return new Envelope(room.bob.accountId(), device, Envelope.WHISPER, body);
    }

    @Test
    void anInvalidIdempotencyKeyIsRefused() {
      String envelope = envelopeJson(room.bob.accountId(), 1, base64("x"));
      for (String key : List.of("short", "has space in it", "ключ-ключ-ключ", "k".repeat(129))) {
        room.a.sendRaw(rawSend(room.id, key, envelope));
        assertEchoes(nextError(room.a, "invalid_idempotency_key"), null, room.id, null);
      }
      room.a.sendRaw("{\"type\":\"send\",\"conversationId\":\"" + room.id + "\",\"envelopes\":[" + envelope + "]}");
      assertEchoes(nextError(room.a, "invalid_idempotency_key"), null, room.id, null);
      room.assertUntouched();
    }

    @Test
    void anEnvelopeBodyThatIsNotBase64IsAnInvalidEnvelope() {
      String key = newKey();
      refusedRaw("invalid_envelope", key, bobJson(2, "not base64!"));
      refusedRaw("invalid_envelope", key, bobJson(2, base64("fine")),
          "{\"user\":\"" + room.alice.accountId() + "\",\"device\":2,\"type\":3,\"body\":\"%%%%\"}");
      assertKeyStillFresh(key);
    }

    @Test
    void anEnvelopeOverTheLimitIsPayloadTooLarge() {
      String key = newKey();
      refused("payload_too_large", key, toBob(1, base64(signal(MAX_ENVELOPE_BYTES + 1))));
      assertKeyStillFresh(key);
      room.sendOk(new ClientFrame.Send(room.id, newKey(), List.of(toBob(1, base64(signal(MAX_ENVELOPE_BYTES))))));
    }

    @Test
    void tooManyEnvelopesArePayloadTooLarge() {
      String key = newKey();
      refused("payload_too_large", key, IntStream.rangeClosed(1, MAX_ENVELOPES + 1)
          .mapToObj(device -> toBob(device, base64("copy " + device))).toArray(Envelope[]::new));
      assertKeyStillFresh(key);
      // exactly the limit: Bob's three devices and Alice's other one
      Chat.register(parley.port(), room.bob, 2);
      Chat.register(parley.port(), room.bob, 3);
      Chat.register(parley.port(), room.alice, 2);
      List<Envelope> four = new java.util.ArrayList<>(IntStream.rangeClosed(1, 3)
          .mapToObj(device -> toBob(device, base64("copy " + device))).toList());
      four.add(new Envelope(room.alice.accountId(), 2, Envelope.WHISPER, base64("copy for me")));
      assertThat(four).hasSize(MAX_ENVELOPES);
      room.sendOk(new ClientFrame.Send(room.id, newKey(), four));
    }

    @Test
    void anEnvelopeForANonParticipantIsAnUnknownRecipient() {
      Account carol = newAccount("carol");
      try (WsClient c = connect(parley.port(), carol)) {
        String key = newKey();
        refused("unknown_recipient", key, toBob(1, base64("for bob")),
            new Envelope(carol.accountId(), 1, Envelope.WHISPER, base64("for carol")));
        assertAlive(c);
        assertKeyStillFresh(key);
      }
    }

    @Test
    void anEnvelopeForTheSendingDeviceIsInvalid() {
      String key = newKey();
      refused("invalid_envelope", key, toBob(1, base64("for bob")),
          new Envelope(room.alice.accountId(), 1, Envelope.WHISPER, base64("for myself")));
      assertKeyStillFresh(key);
      Chat.register(parley.port(), room.alice, 2);
      room.sendOk(new ClientFrame.Send(room.id, newKey(), List.of(toBob(1, base64("for bob")),
          new Envelope(room.alice.accountId(), 2, Envelope.WHISPER, base64("for my other device")))));
    }

    @Test
    void envelopesThatCannotBeSignalMessagesAreInvalid() {
      String key = newKey();
      for (String body : List.of(base64(signal(39)), base64(new byte[72]), base64(withFirst(signal(72), 0x33)))) {
        refusedRaw("invalid_envelope", key, bobJson(2, body));
      }
      refusedRaw("invalid_envelope", key, bobJson(3, base64(signal(99))));
      refusedRaw("invalid_envelope", key, bobJson(1, base64("type one")));
      refusedRaw("invalid_envelope", key, bobJson(4, base64(signal(100))));
      assertKeyStillFresh(key);
      room.sendOk(new ClientFrame.Send(room.id, newKey(),
          List.of(new Envelope(room.bob.accountId(), 1, Envelope.PREKEY, base64(signal(100))))));
    }

    @Test
    void envelopesThatDoNotMatchTheDevicesAreAMismatchAndTheRetryWithTheSameKeyIsStored() {
      Chat.register(parley.port(), room.bob, 2);
      Chat.register(parley.port(), room.alice, 2);
      String key = newKey();

      ServerFrame.Error mismatch = refused("device_mismatch", key, toBob(1, base64("one")), toBob(3, base64("three")));

      assertThat(mismatch.retryable()).isFalse();
      assertThat(mismatch.missing()).containsExactlyInAnyOrder(new ServerFrame.DeviceRef(room.alice.accountId(), 2),
          new ServerFrame.DeviceRef(room.bob.accountId(), 2));
      assertThat(mismatch.stale()).containsExactly(new ServerFrame.DeviceRef(room.bob.accountId(), 3));
      assertAlive(room.a);
      assertAlive(room.b);
      ClientFrame.Send fixed = new ClientFrame.Send(room.id, key, List.of(toBob(1, base64("fixed")),
          toBob(2, base64("fixed")), new Envelope(room.alice.accountId(), 2, Envelope.WHISPER, base64("fixed"))));
      long seq = room.sendOk(fixed).seq();
      assertThat(seq).as("nothing was stored for the mismatch").isEqualTo(2);
      room.a.send(fixed);
      assertThat(room.a.next(ServerFrame.Ack.class)).isEqualTo(new ServerFrame.Ack(room.id, key, seq, true));
      assertThat(room.b.poll(Duration.ofMillis(300))).as("delivered once").isNull();
    }

    @Test
    void twoEnvelopesForOneDeviceAreInvalid() {
      String key = newKey();
      refused("invalid_envelope", key, toBob(1, base64("one")), toBob(1, base64("two")));
      assertKeyStillFresh(key);
    }

    @Test
    void aReplayedSendIsAcknowledgedWithTheOriginalSeqAndDeliveredOnce() {
      String key = newKey();
      long seq = room.sendOk(room.sendToBob(key, "once")).seq();
      for (String text : List.of("once", "a different body under the same key")) {
        room.a.send(room.sendToBob(key, text));
        assertThat(room.a.next(ServerFrame.Ack.class))
            .isEqualTo(new ServerFrame.Ack(room.id, key, seq, true));
      }
      room.assertUntouched();
      assertThat(room.lastSeq).isEqualTo(seq + 1);
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Fetches {

    @Test
    void aFetchOfTooManySeqsIsRefused() {
      try (Room room = new Room()) {
        room.a.send(new ClientFrame.Fetch("too-many", room.id, 1, 501));
        assertEchoes(nextError(room.a, "range_too_large"), "too-many", room.id, null);
        room.a.send(new ClientFrame.Fetch("way-too-many", room.id, 2, Long.MAX_VALUE));
        assertEchoes(nextError(room.a, "range_too_large"), "way-too-many", room.id, null);
        room.assertUntouched();

        room.a.send(new ClientFrame.Fetch("most", room.id, 1, 500));
        assertThat(room.a.next(ServerFrame.Member.class).seq()).isEqualTo(1);
        assertThat(room.a.next(ServerFrame.Message.class).seq()).isEqualTo(2);
        assertThat(room.a.next(ServerFrame.Fetched.class))
            .isEqualTo(new ServerFrame.Fetched("most", room.id, 1, 500));
      }
    }

    @Test
    void aFetchEndingBeforeItStartsIsInvalid() {
      try (Room room = new Room()) {
        room.a.sendRaw("{\"type\":\"fetch\",\"requestId\":\"backwards\",\"conversationId\":\"" + room.id
            + "\",\"fromSeq\":5,\"toSeq\":4}");
        assertEchoes(nextError(room.a, "invalid_request"), "backwards", room.id, null);
        room.a.sendRaw("{\"type\":\"fetch\",\"requestId\":\"zero\",\"conversationId\":\"" + room.id
            + "\",\"fromSeq\":0,\"toSeq\":1}");
        assertEchoes(nextError(room.a, "invalid_request"), "zero", room.id, null);
        room.assertUntouched();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Nested
  class Http {

    private HttpResponse<String> devToken(String body) throws Exception {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + parley.port() + "/v1/dev/token"))
          .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
          HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> lookup(String handle, String authorization) throws Exception {
      HttpRequest.Builder request = HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + parley.port() + "/v1/accounts/lookup?handle=" + handle)).GET();
      if (authorization != null) {
        request.header("Authorization", authorization);
      }
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private void assertError(HttpResponse<String> response, int status, String error) throws Exception {
      assertThat(response.statusCode()).isEqualTo(status);
      JsonNode body = JSON.readTree(response.body());
      assertThat(body.path("error").asText()).isEqualTo(error);
      assertThat(body.has("token")).isFalse();
    }

    @Test
    void aDevTokenRequestThatIsNotJsonIsABadRequest() throws Exception {
      for (String body : List.of("{\"handle\":", "handle=alice", "{\"handle\":\"alice\"} trailing")) {
        assertError(devToken(body), 400, "malformed_json");
      }
    }

    @Test
    void anEmptyDevTokenRequestIsABadRequest() throws Exception {
      HttpResponse<String> response = devToken("");
      assertThat(response.statusCode()).isEqualTo(400);
      assertThat(response.body()).doesNotContain("token");
    }

    @Test
    void aDevTokenForAnInvalidHandleIsABadRequest() throws Exception {
      for (String body : List.of("{\"handle\":\"has space\"}", "{\"handle\":\"\"}", "{}", "[]", "\"alice\"",
          "{\"handle\":\"" + "h".repeat(65) + "\"}", "{\"handle\":\"a/b\"}", "{\"handle\":5}",
          "{\"handle\":[\"alice\"]}", "{\"handle\":null}")) {
        assertError(devToken(body), 400, "invalid_handle");
      }
    }

    @Test
    void aLookupWithoutAUsableTokenIsUnauthorized() throws Exception {
      Account alice = newAccount("alice");
      String bobsSignature = newAccount("bob").token().split("\\.")[2];
      String[] aliceParts = alice.token().split("\\.");
      String forged = aliceParts[0] + "." + aliceParts[1] + "." + bobsSignature;
      String unsigned = aliceParts[0] + "." + aliceParts[1] + ".";
      for (String authorization : new String[] {null, "Bearer", "Basic " + base64("alice:secret"),
          "Bearer " + forged, "Bearer " + unsigned, alice.token()}) {
        HttpResponse<String> response = lookup(alice.handle(), authorization);
        assertThat(response.statusCode()).isEqualTo(401);
        assertThat(response.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
            challenge -> assertThat(challenge).startsWith("Bearer"));
        assertThat(JSON.readTree(response.body()).path("error").asText())
            .isIn("unauthenticated", "token_invalid");
        assertThat(response.body()).doesNotContain(alice.accountId());
      }
      assertError(lookup(alice.handle(), null), 401, "unauthenticated");
      assertError(lookup(alice.handle(), "Bearer not.a.jwt"), 401, "token_invalid");

      HttpResponse<String> found = lookup(alice.handle(), "Bearer " + alice.token());
      assertThat(found.statusCode()).as("the same lookup with the genuine token").isEqualTo(200);
      assertThat(JSON.readTree(found.body()).path("accountId").asText()).isEqualTo(alice.accountId());
    }

    @Test
    void aLookupOfAnInvalidHandleIsABadRequest() throws Exception {
      Account alice = newAccount("alice");
      assertError(lookup("has%20space", "Bearer " + alice.token()), 400, "invalid_handle");
      assertError(lookup("", "Bearer " + alice.token()), 400, "invalid_handle");
      HttpResponse<String> noHandle = HTTP.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + parley.port() + "/v1/accounts/lookup"))
          .header("Authorization", "Bearer " + alice.token()).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertError(noHandle, 400, "invalid_handle");
      assertError(lookup("nobody-" + NAMES.incrementAndGet(), "Bearer " + alice.token()), 404, "unknown_handle");
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private static byte[] withFirst(byte[] body, int first) {
    body[0] = (byte) first;
    return body;
  }

  static String envelopeJson(String user, int device, String body) {
    return "{\"user\":\"" + user + "\",\"device\":" + device + ",\"type\":2,\"body\":\"" + body + "\"}";
  }

  static String rawSend(String conversationId, String key, String envelope) {
    return "{\"type\":\"send\",\"conversationId\":\"" + conversationId + "\",\"idempotencyKey\":\"" + key
        + "\",\"envelopes\":[" + envelope + "]}";
  }
}
