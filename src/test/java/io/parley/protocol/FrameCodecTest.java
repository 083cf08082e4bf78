package io.parley.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class FrameCodecTest {
  private static final String ALICE = "u_" + "a".repeat(22);
  private static final String BOB = "u_" + "b".repeat(21) + "-";
  private static final String CONV = "conv_0001";
  private static final String KEY = "key-0001";
  /** Well-formed stand-in ciphertexts: version byte 0x44 and the minimum size of each message type. */
  private static final String WHISPER_BODY = "RAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==";
  private static final String PREKEY_BODY = "RAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==";

  private final FrameCodec codec = new FrameCodec();
  private final ObjectMapper plain = new ObjectMapper();

  // ---- client frames that decode ----

  @Test
  void hello() {
    assertThat(decode("""
        {"type":"hello","token":"eyJ.token","device":3,"cursors":{"conv_0001":12,"conv_0002":0}}"""))
        .isEqualTo(new ClientFrame.Hello("eyJ.token", 3, Map.of("conv_0001", 12L, "conv_0002", 0L)));
  }

  @Test
  void helloWithoutCursorsResumesNothing() {
    ClientFrame.Hello hello = (ClientFrame.Hello) decode("""
        {"type":"hello","token":"eyJ.token","device":1}""");

    assertThat(hello.cursors()).isEmpty();
  }

  @Test
  void helloWithoutATokenDecodesSoThatTheTokenCheckRefusesIt() {
    assertThat(((ClientFrame.Hello) decode("{\"type\":\"hello\",\"device\":1}")).token()).isNull();
    assertThat(((ClientFrame.Hello) decode("{\"type\":\"hello\",\"token\":\"  \",\"device\":1}")).token())
        .isBlank();
  }

  @Test
  void create() {
    assertThat(decode("""
        {"type":"create","requestId":"r1","conversationId":"conv_0001","participants":["%s","%s"]}"""
        .formatted(ALICE, BOB)))
        .isEqualTo(new ClientFrame.Create("r1", CONV, List.of(ALICE, BOB)));
  }

  @Test
  void addMemberAndRemoveMember() {
    assertThat(decode("""
        {"type":"addMember","requestId":"r2","conversationId":"conv_0001","user":"%s"}""".formatted(BOB)))
        .isEqualTo(new ClientFrame.AddMember("r2", CONV, BOB));
    assertThat(decode("""
        {"type":"removeMember","conversationId":"conv_0001","user":"%s"}""".formatted(BOB)))
        .isEqualTo(new ClientFrame.RemoveMember(null, CONV, BOB));
  }

  @Test
  void send() {
    assertThat(decode("""
        {"type":"send","conversationId":"conv_0001","idempotencyKey":"key-0001",
         "envelopes":[{"user":"%s","device":1,"type":3,"body":"%s"},{"user":"%s","device":2,"type":2,"body":"%s"}]}"""
        .formatted(BOB, PREKEY_BODY, ALICE, WHISPER_BODY)))
        .isEqualTo(new ClientFrame.Send(CONV, KEY, List.of(
            new Envelope(BOB, 1, Envelope.PREKEY, PREKEY_BODY), new Envelope(ALICE, 2, Envelope.WHISPER, WHISPER_BODY))));
  }

  @Test
  void ephemeral() {
    assertThat(decode("""
        {"type":"ephemeral","conversationId":"conv_0001",
         "envelopes":[{"user":"%s","device":1,"type":2,"body":"%s"}]}""".formatted(BOB, WHISPER_BODY)))
        .isEqualTo(new ClientFrame.Ephemeral(null, CONV, List.of(new Envelope(BOB, 1, Envelope.WHISPER, WHISPER_BODY))));
    assertThat(decode("""
        {"type":"ephemeral","requestId":"e1","conversationId":"conv_0001",
         "envelopes":[{"user":"%s","device":2,"type":3,"body":"%s"}]}""".formatted(ALICE, PREKEY_BODY)))
        .isEqualTo(new ClientFrame.Ephemeral("e1", CONV, List.of(new Envelope(ALICE, 2, Envelope.PREKEY, PREKEY_BODY))));
    assertThatThrownBy(() -> decode("""
        {"type":"ephemeral","requestId":"e2","conversationId":"conv_0001","envelopes":[]}"""))
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
          assertThat(e.requestId()).isEqualTo("e2");
          assertThat(e.conversationId()).isEqualTo(CONV);
        });
  }

  @Test
  void deliveryAckFetchAndTyping() {
    assertThat(decode("""
        {"type":"deliveryAck","conversationId":"conv_0001","seq":41}"""))
        .isEqualTo(new ClientFrame.DeliveryAck(CONV, 41));
    assertThat(decode("""
        {"type":"fetch","requestId":"r3","conversationId":"conv_0001","fromSeq":5,"toSeq":9}"""))
        .isEqualTo(new ClientFrame.Fetch("r3", CONV, 5, 9));
    assertThat(decode("""
        {"type":"typing","conversationId":"conv_0001","active":true}"""))
        .isEqualTo(new ClientFrame.Typing(CONV, true));
  }

  @Test
  void pingAndListConversations() {
    assertThat(decode("{\"type\":\"ping\",\"nonce\":\"n-1\"}")).isEqualTo(new ClientFrame.Ping("n-1"));
    assertThat(decode("{\"type\":\"ping\"}")).isEqualTo(new ClientFrame.Ping(null));
    assertThat(decode("{\"type\":\"listConversations\",\"requestId\":\"r4\"}"))
        .isEqualTo(new ClientFrame.ListConversations("r4"));
    assertThat(decode("{\"type\":\"listConversations\"}")).isEqualTo(new ClientFrame.ListConversations(null));
  }

  @Test
  void theTypeMayComeAfterTheFields() {
    assertThat(decode("{\"seq\":7,\"conversationId\":\"conv_0001\",\"type\":\"deliveryAck\"}"))
        .isEqualTo(new ClientFrame.DeliveryAck(CONV, 7));
  }

  @ParameterizedTest
  @MethodSource("everyClientFrame")
  void everyClientFrameSurvivesEncodeClientAndDecode(ClientFrame frame) {
    assertThat(codec.decode(codec.encodeClient(frame))).isEqualTo(frame);
  }

  static Stream<ClientFrame> everyClientFrame() {
    return Stream.of(
        new ClientFrame.Hello("token", 127, Map.of(CONV, 3L)),
        new ClientFrame.Create("r1", CONV, List.of(BOB)),
        new ClientFrame.AddMember("r2", CONV, BOB),
        new ClientFrame.RemoveMember("r3", CONV, BOB),
        new ClientFrame.Send(CONV, KEY, List.of(new Envelope(BOB, 1, Envelope.WHISPER, WHISPER_BODY))),
        new ClientFrame.DeliveryAck(CONV, 1),
        new ClientFrame.Read(CONV, 7),
        new ClientFrame.Receipts("r5", CONV),
        new ClientFrame.Fetch("r4", CONV, 1, 1),
        new ClientFrame.Typing(CONV, false),
        new ClientFrame.Ephemeral("r7", CONV, List.of(new Envelope(BOB, 1, Envelope.WHISPER, WHISPER_BODY))),
        new ClientFrame.Ping("n"),
        new ClientFrame.ListConversations(null),
        new ClientFrame.PresenceQuery("r6", List.of(BOB)));
  }

  @Test
  void everyClientFrameTypeIsCovered() {
    assertThat(everyClientFrame().map(frame -> frame.getClass().getName()).distinct())
        .containsExactlyInAnyOrder(names(ClientFrame.class.getPermittedSubclasses()));
  }

  @Test
  void unknownPropertiesAreIgnored() {
    assertThat(decode("""
        {"type":"ping","nonce":"n","future":{"nested":[1,2,{"x":null}]},"version":2}"""))
        .isEqualTo(new ClientFrame.Ping("n"));
    assertThat(decode("""
        {"type":"send","conversationId":"conv_0001","idempotencyKey":"key-0001","hint":"x",
         "envelopes":[{"user":"%s","device":1,"type":2,"body":"%s","padding":"...."}]}""".formatted(BOB, WHISPER_BODY)))
        .isEqualTo(new ClientFrame.Send(CONV, KEY, List.of(new Envelope(BOB, 1, Envelope.WHISPER, WHISPER_BODY))));
  }

  // ---- malformed_frame ----

  @ParameterizedTest
  @ValueSource(strings = {
      "", "   ", "{", "}", "{\"type\":\"ping\"", "{\"type\":\"ping\",}", "{type:\"ping\"}", "{'type':'ping'}",
      "nope", "{\"type\":\"ping\"} // comment"})
  void textThatIsNotJsonIsMalformed(String text) {
    assertRejected(text, ErrorCode.MALFORMED_FRAME);
  }

  @ParameterizedTest
  @ValueSource(strings = {"[]", "[\"ping\",{}]", "[\"ping\"]", "\"x\"", "null", "1", "true"})
  void jsonThatIsNotAnObjectIsMalformed(String text) {
    assertRejected(text, ErrorCode.MALFORMED_FRAME);
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", "{\"type\":null}", "{\"nonce\":\"n\"}"})
  void anObjectWithoutATypeIsMalformed(String text) {
    assertRejected(text, ErrorCode.MALFORMED_FRAME);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"ping\"} 1", "{\"type\":\"ping\"}{}", "{\"type\":\"ping\"} x", "{\"type\":\"ping\"}]",
      "{\"type\":\"ping\"}{\"type\":\"ping\"}", "{\"type\":\"ping\"} null"})
  void anythingAfterTheObjectIsMalformed(String text) {
    assertRejected(text, ErrorCode.MALFORMED_FRAME);
  }

  @Test
  void whitespaceAroundTheObjectIsFine() {
    assertThat(decode(" \n{\"type\":\"ping\"}\r\n\t ")).isEqualTo(new ClientFrame.Ping(null));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"ping\",\"type\":\"listConversations\"}",
      "{\"type\":\"fetch\",\"conversationId\":\"conv_0001\",\"fromSeq\":1,\"toSeq\":2,\"fromSeq\":3}",
      "{\"type\":\"ping\",\"x\":{\"a\":1,\"a\":2}}"})
  void repeatedMemberNamesAreMalformed(String text) {
    assertRejected(text, ErrorCode.MALFORMED_FRAME);
  }

  // ---- unknown_type ----

  @ParameterizedTest
  @ValueSource(strings = {"nope", "Ping", "PING", "welcome", "ack", ""})
  void anUnknownTypeIsReportedAsSuch(String type) {
    assertRejected("{\"type\":\"" + type + "\"}", ErrorCode.UNKNOWN_TYPE);
  }

  // ---- invalid_request: wrong JSON types ----

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"typing\",\"conversationId\":\"conv_0001\",\"active\":\"true\"}",
      "{\"type\":\"typing\",\"conversationId\":\"conv_0001\",\"active\":1}",
      "{\"type\":\"typing\",\"conversationId\":12345678,\"active\":true}",
      "{\"type\":\"typing\",\"conversationId\":[\"conv_0001\"],\"active\":true}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":\"5\"}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":5.7}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":5.0}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":true}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":null}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":{}}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":99999999999999999999999}",
      "{\"type\":\"hello\",\"token\":\"t\",\"device\":\"1\"}",
      "{\"type\":\"hello\",\"token\":42,\"device\":1}",
      "{\"type\":\"hello\",\"token\":\"t\",\"device\":1,\"cursors\":[]}",
      "{\"type\":\"hello\",\"token\":\"t\",\"device\":1,\"cursors\":{\"conv_0001\":\"3\"}}",
      "{\"type\":\"hello\",\"token\":\"t\",\"device\":1,\"cursors\":{\"conv_0001\":null}}",
      "{\"type\":\"create\",\"conversationId\":\"conv_0001\",\"participants\":\"u_aaaaaaaaaaaaaaaaaaaaaa\"}",
      "{\"type\":\"create\",\"conversationId\":\"conv_0001\",\"participants\":[null]}",
      "{\"type\":\"create\",\"conversationId\":\"conv_0001\",\"participants\":[7]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":12345678,"
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"type\":2,\"body\":\"" + WHISPER_BODY + "\"}]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\",\"envelopes\":[null]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\",\"envelopes\":{}}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"type\":2,\"body\":{}}]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"type\":\"2\",\"body\":\"" + WHISPER_BODY + "\"}]}",
      "{\"type\":\"ping\",\"nonce\":5}",
      "{\"type\":\"listConversations\",\"requestId\":[1]}"})
  void aFieldOfTheWrongTypeIsAnInvalidRequest(String text) {
    assertRejected(text, ErrorCode.INVALID_REQUEST);
  }

  // ---- invalid_request: missing or out-of-range fields ----

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"hello\",\"token\":\"t\"}",
      "{\"type\":\"hello\",\"token\":\"t\",\"device\":1,\"cursors\":{\"conv_0001\":-1}}",
      "{\"type\":\"create\",\"conversationId\":\"conv_0001\"}",
      "{\"type\":\"create\",\"participants\":[]}",
      "{\"type\":\"addMember\",\"conversationId\":\"conv_0001\"}",
      "{\"type\":\"removeMember\",\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\"}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\"}",
      "{\"type\":\"send\",\"idempotencyKey\":\"key-0001\","
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"type\":2,\"body\":\"" + WHISPER_BODY + "\"}]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"type\":2}]}",
      "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
          + "\"envelopes\":[{\"user\":\"u_bbbbbbbbbbbbbbbbbbbbbb\",\"device\":1,\"body\":\"" + WHISPER_BODY + "\"}]}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\"}",
      "{\"type\":\"deliveryAck\",\"conversationId\":\"conv_0001\",\"seq\":0}",
      "{\"type\":\"fetch\",\"conversationId\":\"conv_0001\",\"fromSeq\":1}",
      "{\"type\":\"fetch\",\"conversationId\":\"conv_0001\",\"fromSeq\":0,\"toSeq\":3}",
      "{\"type\":\"fetch\",\"conversationId\":\"conv_0001\",\"fromSeq\":4,\"toSeq\":3}",
      "{\"type\":\"typing\",\"conversationId\":\"conv_0001\"}",
      "{\"type\":\"typing\",\"active\":true}",
      "{\"type\":\"listConversations\",\"requestId\":\"\"}",
      "{\"type\":\"listConversations\",\"requestId\":\"has space\"}"})
  void aMissingOrOutOfRangeFieldIsAnInvalidRequest(String text) {
    assertRejected(text, ErrorCode.INVALID_REQUEST);
  }

  @Test
  void aSendMayCarryNoEnvelopeWhenNoOtherDeviceExists() {
    assertThat(decode("{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
        + "\"envelopes\":[]}")).isEqualTo(new ClientFrame.Send(CONV, KEY, List.of()));
  }

  @Test
  void readAndReceiptsRequests() {
    assertThat(decode("{\"type\":\"read\",\"conversationId\":\"conv_0001\",\"seq\":42}"))
        .isEqualTo(new ClientFrame.Read(CONV, 42));
    assertThat(decode("{\"type\":\"receipts\",\"requestId\":\"r9\",\"conversationId\":\"conv_0001\"}"))
        .isEqualTo(new ClientFrame.Receipts("r9", CONV));
    assertRejected("{\"type\":\"read\",\"conversationId\":\"conv_0001\",\"seq\":0}", ErrorCode.INVALID_REQUEST);
    assertRejected("{\"type\":\"read\",\"conversationId\":\"conv_0001\"}", ErrorCode.INVALID_REQUEST);
    assertRejected("{\"type\":\"receipts\",\"requestId\":\"r9\"}", ErrorCode.INVALID_REQUEST);
  }

  // ---- invalid_envelope: what cannot be a Signal message ----

  @ParameterizedTest
  @MethodSource("invalidEnvelopes")
  void anEnvelopeThatCannotBeASignalMessageIsAnInvalidEnvelope(int type, byte[] body, String why) {
    String text = sendWithEnvelope(type, java.util.Base64.getEncoder().encodeToString(body));
    assertThatThrownBy(() -> codec.decode(text)).as(why)
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ENVELOPE);
          assertThat(e.conversationId()).isEqualTo(CONV);
          assertThat(e.idempotencyKey()).isEqualTo(KEY);
        });
  }

  static Stream<Arguments> invalidEnvelopes() {
    return Stream.of(
        Arguments.of(1, signal(40), "type 1 is not a Signal message type"),
        Arguments.of(4, signal(100), "type 4 is not a Signal message type"),
        Arguments.of(0, signal(100), "type 0"),
        Arguments.of(2, new byte[0], "an empty body"),
        Arguments.of(2, signal(39), "a Whisper message under 40 bytes"),
        Arguments.of(3, signal(99), "a PreKey message under 100 bytes"),
        Arguments.of(3, signal(40), "a Whisper-sized PreKey message"),
        Arguments.of(2, withFirstByte(signal(72), 0x33), "message version 3"),
        Arguments.of(3, withFirstByte(signal(1756), 0x34), "a version 3 session carrying version 4 in one nibble"),
        Arguments.of(2, withFirstByte(signal(72), 0x00), "no version byte"));
  }

  @Test
  void aBodyThatIsNotBase64IsAnInvalidEnvelope() {
    assertRejected(sendWithEnvelope(2, "not base64!" + WHISPER_BODY), ErrorCode.INVALID_ENVELOPE);
    assertRejected(sendWithEnvelope(2, WHISPER_BODY.substring(1)), ErrorCode.INVALID_ENVELOPE);
  }

  @Test
  void envelopesAtTheMinimumSizesAndOfRealSignalSizesAreFine() {
    assertThat(decode(sendWithEnvelope(2, WHISPER_BODY))).isNotNull();
    assertThat(decode(sendWithEnvelope(3, PREKEY_BODY))).isNotNull();
    assertThat(decode(sendWithEnvelope(2, java.util.Base64.getEncoder().encodeToString(signal(72))))).isNotNull();
    assertThat(decode(sendWithEnvelope(3, java.util.Base64.getEncoder().encodeToString(signal(1756))))).isNotNull();
    assertThat(decode(sendWithEnvelope(2, java.util.Base64.getEncoder().encodeToString(signal(100))))).isNotNull();
  }

  @Test
  void aNonceIsAtMostSixtyFourCharacters() {
    assertThat(decode("{\"type\":\"ping\",\"nonce\":\"" + "n".repeat(64) + "\"}")).isNotNull();
    assertRejected("{\"type\":\"ping\",\"nonce\":\"" + "n".repeat(65) + "\"}", ErrorCode.INVALID_REQUEST);
  }

  @ParameterizedTest
  @ValueSource(strings = {"short", "conv-01", "conv 0001", "conv/0001", "conv.0001", "cönv_0001", ""})
  void aBadConversationIdIsAnInvalidRequest(String conversationId) {
    assertRejected("{\"type\":\"deliveryAck\",\"conversationId\":\"" + conversationId + "\",\"seq\":1}",
        ErrorCode.INVALID_REQUEST);
  }

  @Test
  void conversationIdsOfEightToSixtyFourCharactersAreFine() {
    assertThat(decode("{\"type\":\"deliveryAck\",\"conversationId\":\"aZ09_-aZ\",\"seq\":1}")).isNotNull();
    String longest = "c".repeat(64);
    assertThat(decode("{\"type\":\"deliveryAck\",\"conversationId\":\"" + longest + "\",\"seq\":1}")).isNotNull();
    assertRejected("{\"type\":\"deliveryAck\",\"conversationId\":\"" + longest + "c\",\"seq\":1}",
        ErrorCode.INVALID_REQUEST);
  }

  @ParameterizedTest
  @ValueSource(strings = {"alice", "u_short", "u_aaaaaaaaaaaaaaaaaaaaaaa", "U_aaaaaaaaaaaaaaaaaaaaaa",
      "u_aaaaaaaaaaaaaaaaaaaaa!", "x_aaaaaaaaaaaaaaaaaaaaaa", ""})
  void aBadAccountIdIsAnInvalidRequest(String user) {
    assertRejected("{\"type\":\"addMember\",\"conversationId\":\"conv_0001\",\"user\":\"" + user + "\"}",
        ErrorCode.INVALID_REQUEST);
    assertRejected("{\"type\":\"create\",\"conversationId\":\"conv_0001\",\"participants\":[\"" + ALICE + "\",\""
        + user + "\"]}", ErrorCode.INVALID_REQUEST);
    assertRejected(sendTo(user, 1), ErrorCode.INVALID_REQUEST);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-1", "128", "4294967297", "99999999999999999999999"})
  void aDeviceOutOfRangeIsAnInvalidRequest(String device) {
    assertRejected("{\"type\":\"hello\",\"token\":\"t\",\"device\":" + device + "}", ErrorCode.INVALID_REQUEST);
    assertRejected(sendTo(BOB, device), ErrorCode.INVALID_REQUEST);
  }

  @Test
  void devicesOneToOneHundredTwentySevenAreFine() {
    assertThat(decode("{\"type\":\"hello\",\"token\":\"t\",\"device\":1}")).isNotNull();
    assertThat(decode("{\"type\":\"hello\",\"token\":\"t\",\"device\":127}")).isNotNull();
    assertThat(decode(sendTo(BOB, 127))).isNotNull();
  }

  // ---- invalid_idempotency_key ----

  @ParameterizedTest
  @ValueSource(strings = {"short", "seven77", "has space", "tab\tkey-01", "ключ-ключ-ключ", "key-0001\u007f", ""})
  void aBadIdempotencyKeyIsReportedAsSuch(String key) {
    assertRejected(sendWithKey("\"" + key.replace("\t", "\\t").replace("\u007f", "\\u007f") + "\""),
        ErrorCode.INVALID_IDEMPOTENCY_KEY);
  }

  @Test
  void idempotencyKeysOfEightToOneHundredTwentyEightPrintableCharactersAreFine() {
    assertThat(decode(sendWithKey("\"!~#$%&()\""))).isNotNull();
    assertThat(decode(sendWithKey("\"" + "k".repeat(128) + "\""))).isNotNull();
    assertRejected(sendWithKey("\"" + "k".repeat(129) + "\""), ErrorCode.INVALID_IDEMPOTENCY_KEY);
  }

  @Test
  void aMissingIdempotencyKeyIsReportedAsSuch() {
    assertRejected(sendWithKey("null"), ErrorCode.INVALID_IDEMPOTENCY_KEY);
    assertRejected("{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"envelopes\":[{\"user\":\"" + BOB
        + "\",\"device\":1,\"type\":2,\"body\":\"" + WHISPER_BODY + "\"}]}", ErrorCode.INVALID_IDEMPOTENCY_KEY);
  }

  // ---- what a rejection answers ----

  @Test
  void aRejectionNamesTheWellFormedIdsOfTheRequestItAnswers() {
    assertThatThrownBy(() -> codec.decode(
        "{\"type\":\"fetch\",\"requestId\":\"f9\",\"conversationId\":\"conv_0001\",\"fromSeq\":4,\"toSeq\":3}"))
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
          assertThat(e.requestId()).isEqualTo("f9");
          assertThat(e.conversationId()).isEqualTo(CONV);
          assertThat(e.idempotencyKey()).isNull();
        });
    assertThatThrownBy(() -> codec.decode(sendTo(BOB, "\"1\"")))
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.conversationId()).isEqualTo(CONV);
          assertThat(e.idempotencyKey()).isEqualTo(KEY);
        });
  }

  @Test
  void aRejectionNeverRepeatsMalformedIds() {
    assertThatThrownBy(() -> codec.decode(sendWithKey("\"short\"")))
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_IDEMPOTENCY_KEY);
          assertThat(e.conversationId()).isEqualTo(CONV);
          assertThat(e.idempotencyKey()).isNull();
        });
    assertThatThrownBy(() -> codec.decode(
        "{\"type\":\"addMember\",\"requestId\":\"has space\",\"conversationId\":7,\"user\":\"bob\"}"))
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> {
          assertThat(e.requestId()).isNull();
          assertThat(e.conversationId()).isNull();
        });
  }

  // ---- server frames ----

  @ParameterizedTest
  @MethodSource("everyServerFrame")
  void everyServerFrameCarriesItsTypeAndNoNulls(ServerFrame frame, String type) throws Exception {
    JsonNode json = plain.readTree(codec.encode(frame));

    assertThat(json.isObject()).isTrue();
    assertThat(json.path("type").asText()).isEqualTo(type);
    assertNoNulls(json);
  }

  @ParameterizedTest
  @MethodSource("everyServerFrame")
  void everyServerFrameSurvivesEncodeAndDecodeServer(ServerFrame frame, String type) {
    assertThat(codec.decodeServer(codec.encode(frame))).isEqualTo(frame);
  }

  static Stream<Arguments> everyServerFrame() {
    return Stream.of(
        args(new ServerFrame.Welcome(ALICE, 2, 25_000, 262_144), "welcome"),
        args(new ServerFrame.Ack(CONV, KEY, 12, true), "ack"),
        args(new ServerFrame.Message(CONV, 13, BOB, 1, 1_735_689_600_000L, new ServerFrame.Body(3, "QUJD")), "message"),
        args(new ServerFrame.Message(CONV, 14, BOB, 1, 1_735_689_600_000L, null), "message"),
        args(new ServerFrame.Member(CONV, 15, "added", BOB, ALICE, List.of(ALICE, BOB), 1_735_689_600_000L), "member"),
        args(new ServerFrame.Created("r1", CONV, 1), "created"),
        args(new ServerFrame.Created(null, CONV, 1), "created"),
        args(new ServerFrame.Ok("r2", CONV, 16), "ok"),
        args(new ServerFrame.Fetched("r3", CONV, 1, 16), "fetched"),
        args(new ServerFrame.TypingNotice(CONV, BOB, 2, true), "typing"),
        args(new ServerFrame.Ephemeral(CONV, BOB, 2, new ServerFrame.Body(2, "QUJD")), "ephemeral"),
        args(new ServerFrame.Pong("n-1"), "pong"),
        args(new ServerFrame.Pong(null), "pong"),
        args(new ServerFrame.Conversations("r4", List.of(new ServerFrame.Summary(CONV, 16))), "conversations"),
        args(new ServerFrame.Conversations(null, List.of()), "conversations"),
        args(ServerFrame.Error.of(ErrorCode.NOT_PARTICIPANT, "not a participant"), "error"),
        args(ServerFrame.Error.of(ErrorCode.UNAVAILABLE, "try again").withRequest("r5", CONV, KEY), "error"),
        args(ServerFrame.Error.of(ErrorCode.DEVICE_MISMATCH, "envelopes do not match").withRequest(null, CONV, KEY)
            .withDevices(List.of(new ServerFrame.DeviceRef(BOB, 2)), List.of(new ServerFrame.DeviceRef(BOB, 3))),
            "error"),
        args(new ServerFrame.Receipt(CONV, BOB, ReceiptKind.READ, 42), "receipt"),
        args(new ServerFrame.Receipts("r9", CONV, List.of(new ServerFrame.Markers(BOB, 42, 40))), "receipts"),
        args(new ServerFrame.Reconnect(1_500, "deploy"), "reconnect"),
        args(new ServerFrame.KeysLow(1, 7), "keysLow"),
        args(ServerFrame.Error.of(ErrorCode.RATE_LIMITED, "slow down").withRequest(null, CONV, KEY)
            .withRetryAfter(850), "error"),
        args(new ServerFrame.Presence(BOB, true, null), "presence"),
        args(new ServerFrame.Presence(BOB, false, 1_735_689_600_000L), "presence"),
        args(new ServerFrame.Presences("r6", List.of(new ServerFrame.Presence(BOB, false, null))), "presences"),
        args(new ServerFrame.Close(1012, "restarting"), "close"));
  }

  @Test
  void everyServerFrameTypeIsCovered() {
    assertThat(everyServerFrame().map(a -> a.get()[0].getClass().getName()).distinct())
        .containsExactlyInAnyOrder(names(ServerFrame.class.getPermittedSubclasses()));
  }

  @Test
  void aMessageWithoutEnvelopeLeavesTheFieldOut() throws Exception {
    JsonNode json = plain.readTree(codec.encode(new ServerFrame.Message(CONV, 14, BOB, 1, 5, null)));

    assertThat(json.has("envelope")).isFalse();
    assertThat(json.path("seq").asLong()).isEqualTo(14);
    assertThat(json.path("fromUser").asText()).isEqualTo(BOB);
  }

  @Test
  void aRateLimitedErrorIsRetryableAndSaysWhen() throws Exception {
    JsonNode json = plain.readTree(codec.encode(ServerFrame.Error.of(ErrorCode.RATE_LIMITED, "slow down")
        .withRequest(null, CONV, KEY).withRetryAfter(850)));

    assertThat(json.path("code").asText()).isEqualTo("rate_limited");
    assertThat(json.path("retryable").asBoolean()).isTrue();
    assertThat(json.path("retryAfterMs").asLong()).isEqualTo(850);
    assertThat(json.path("idempotencyKey").asText()).isEqualTo(KEY);
  }

  @Test
  void aPresenceRequestNamesOneToAHundredAccounts() {
    assertThat(decode("{\"type\":\"presence\",\"requestId\":\"r1\",\"users\":[\"" + BOB + "\",\"" + BOB + "\"]}"))
        .isEqualTo(new ClientFrame.PresenceQuery("r1", List.of(BOB)));
    assertThatThrownBy(() -> decode("{\"type\":\"presence\",\"requestId\":\"r1\",\"users\":[]}"))
        .isInstanceOf(InvalidFrameException.class)
        .satisfies(e -> assertThat(((InvalidFrameException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    assertThatThrownBy(() -> decode("{\"type\":\"presence\",\"requestId\":\"r1\",\"users\":[\"alice\"]}"))
        .isInstanceOf(InvalidFrameException.class);
  }

  @Test
  void anErrorCarriesTheWireCodeAndWhetherToRetry() throws Exception {
    JsonNode plainError = plain.readTree(codec.encode(ServerFrame.Error.of(ErrorCode.INVALID_ENVELOPE, "bad")));
    JsonNode withRequest = plain.readTree(codec.encode(
        ServerFrame.Error.of(ErrorCode.INTERNAL, "oops").withRequest("r1", CONV, null)));

    assertThat(plainError.path("code").asText()).isEqualTo("invalid_envelope");
    assertThat(plainError.path("retryable").asBoolean()).isFalse();
    assertThat(plainError.has("requestId")).isFalse();
    assertThat(withRequest.path("code").asText()).isEqualTo("internal");
    assertThat(withRequest.path("retryable").asBoolean()).isTrue();
    assertThat(withRequest.path("requestId").asText()).isEqualTo("r1");
    assertThat(withRequest.path("conversationId").asText()).isEqualTo(CONV);
    assertThat(withRequest.has("idempotencyKey")).isFalse();
  }

  @Test
  void aDeviceMismatchNamesMissingAndStaleDevices() throws Exception {
    JsonNode json = plain.readTree(codec.encode(ServerFrame.Error.of(ErrorCode.DEVICE_MISMATCH, "mismatch")
        .withRequest(null, CONV, KEY)
        .withDevices(List.of(new ServerFrame.DeviceRef(BOB, 2)), List.of())));

    assertThat(json.path("code").asText()).isEqualTo("device_mismatch");
    assertThat(json.path("retryable").asBoolean()).isFalse();
    assertThat(json.path("missing").get(0).path("user").asText()).isEqualTo(BOB);
    assertThat(json.path("missing").get(0).path("device").asInt()).isEqualTo(2);
    assertThat(json.path("stale").isArray()).isTrue();
    assertThat(json.path("stale")).isEmpty();
    assertThat(plain.readTree(codec.encode(ServerFrame.Error.of(ErrorCode.NOT_PARTICIPANT, "no"))).has("missing"))
        .isFalse();
  }

  @Test
  void aReceiptNamesItsKindOnTheWire() throws Exception {
    JsonNode json = plain.readTree(codec.encode(new ServerFrame.Receipt(CONV, BOB, ReceiptKind.DELIVERED, 9)));

    assertThat(json.path("kind").asText()).isEqualTo("delivered");
    assertThat(json.path("user").asText()).isEqualTo(BOB);
    assertThat(json.path("seq").asLong()).isEqualTo(9);
  }

  @Test
  void decodeServerRejectsWhatIsNotAServerFrame() {
    assertThatThrownBy(() -> codec.decodeServer("{\"type\":\"ping\"}")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> codec.decodeServer("not json")).isInstanceOf(IllegalArgumentException.class);
  }

  // ---- error codes ----

  @Test
  void errorCodesHaveDistinctSnakeCaseWireNames() {
    assertThat(Arrays.stream(ErrorCode.values()).map(ErrorCode::wire))
        .doesNotHaveDuplicates()
        .allMatch(wire -> wire.matches("[a-z]+(_[a-z]+)*"));
    assertThat(Arrays.stream(ErrorCode.values()).filter(ErrorCode::retryable))
        .containsExactlyInAnyOrder(ErrorCode.TOO_SLOW, ErrorCode.RATE_LIMITED, ErrorCode.UNAVAILABLE,
            ErrorCode.INTERNAL);
  }

  // ---- helpers ----

  private ClientFrame decode(String text) {
    return codec.decode(text);
  }

  private void assertRejected(String text, ErrorCode code) {
    assertThatThrownBy(() -> codec.decode(text))
        .as("decoding %s", text)
        .isInstanceOfSatisfying(InvalidFrameException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  private static String sendTo(String user, Object device) {
    return "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
        + "\"envelopes\":[{\"user\":\"" + user + "\",\"device\":" + device + ",\"type\":2,\"body\":\"" + WHISPER_BODY + "\"}]}";
  }

  private static String sendWithKey(String keyJson) {
    return "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":" + keyJson
        + ",\"envelopes\":[{\"user\":\"" + BOB + "\",\"device\":1,\"type\":2,\"body\":\"" + WHISPER_BODY + "\"}]}";
  }

  private static String sendWithEnvelope(int type, String body) {
    return "{\"type\":\"send\",\"conversationId\":\"conv_0001\",\"idempotencyKey\":\"key-0001\","
        + "\"envelopes\":[{\"user\":\"" + BOB + "\",\"device\":1,\"type\":" + type + ",\"body\":\"" + body + "\"}]}";
  }

  /** {@code size} bytes that start as a version 4 Signal message does. */
  private static byte[] signal(int size) {
    byte[] body = new byte[size];
    new java.util.Random(size).nextBytes(body);
    if (size > 0) {
      body[0] = Envelope.VERSION_BYTE;
    }
    return body;
  }

  private static byte[] withFirstByte(byte[] body, int first) {
    body[0] = (byte) first;
    return body;
  }

  private static String[] names(Class<?>[] classes) {
    return Arrays.stream(classes).map(Class::getName).toArray(String[]::new);
  }

  private static Arguments args(ServerFrame frame, String type) {
    return Arguments.of(frame, type);
  }

  private static void assertNoNulls(JsonNode node) {
    assertThat(node.isNull()).as("a null in the encoded frame").isFalse();
    node.elements().forEachRemaining(FrameCodecTest::assertNoNulls);
  }
}
