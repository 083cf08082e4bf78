package io.parley.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;

/** Frames a client sends over the WebSocket; see docs/protocol.md. Constructors validate shape. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = ClientFrame.Hello.class, name = "hello"),
  @JsonSubTypes.Type(value = ClientFrame.Create.class, name = "create"),
  @JsonSubTypes.Type(value = ClientFrame.AddMember.class, name = "addMember"),
  @JsonSubTypes.Type(value = ClientFrame.RemoveMember.class, name = "removeMember"),
  @JsonSubTypes.Type(value = ClientFrame.Send.class, name = "send"),
  @JsonSubTypes.Type(value = ClientFrame.DeliveryAck.class, name = "deliveryAck"),
  @JsonSubTypes.Type(value = ClientFrame.Fetch.class, name = "fetch"),
  @JsonSubTypes.Type(value = ClientFrame.Typing.class, name = "typing"),
  @JsonSubTypes.Type(value = ClientFrame.Ephemeral.class, name = "ephemeral"),
  @JsonSubTypes.Type(value = ClientFrame.Ping.class, name = "ping"),
  @JsonSubTypes.Type(value = ClientFrame.ListConversations.class, name = "listConversations"),
  @JsonSubTypes.Type(value = ClientFrame.Read.class, name = "read"),
  @JsonSubTypes.Type(value = ClientFrame.Receipts.class, name = "receipts"),
  @JsonSubTypes.Type(value = ClientFrame.PresenceQuery.class, name = "presence")
})
public sealed interface ClientFrame {

  /**
   * First frame of every connection: authenticates and resumes from the client's cursors. A missing or
   * blank token is left to the token check, which answers {@code unauthenticated} and closes.
   */
  record Hello(String token, int device, Map<String, Long> cursors) implements ClientFrame {
    public Hello {
      Check.device(device);
      cursors = cursors == null ? Map.of() : Map.copyOf(cursors);
      cursors.forEach((conversationId, seq) -> {
        Check.conversationId(conversationId);
        Check.that(seq != null && seq >= 0, "cursors must be non-negative sequence numbers");
      });
    }
  }

  record Create(String requestId, String conversationId, List<String> participants) implements ClientFrame {
    public Create {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
      Check.that(participants != null, "participants are required");
      participants = List.copyOf(participants);
      participants.forEach(Check::accountId);
    }
  }

  record AddMember(String requestId, String conversationId, String user) implements ClientFrame {
    public AddMember {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
      Check.accountId(user);
    }
  }

  record RemoveMember(String requestId, String conversationId, String user) implements ClientFrame {
    public RemoveMember {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
      Check.accountId(user);
    }
  }

  /**
   * One ciphertext envelope per device of the participants other than the sending device; the server never
   * reads the bodies. The list is empty only when no participant has another device.
   */
  record Send(String conversationId, String idempotencyKey, List<Envelope> envelopes) implements ClientFrame {
    public Send {
      Check.conversationId(conversationId);
      Check.idempotencyKey(idempotencyKey);
      Check.that(envelopes != null, "envelopes are required");
      envelopes = List.copyOf(envelopes);
    }
  }

  /** Cumulative: the device has received everything up to and including {@code seq}. */
  record DeliveryAck(String conversationId, long seq) implements ClientFrame {
    public DeliveryAck {
      Check.conversationId(conversationId);
      Check.that(seq >= 1, "seq must be positive");
    }
  }

  /** Cumulative: the user has seen everything up to and including {@code seq}. */
  record Read(String conversationId, long seq) implements ClientFrame {
    public Read {
      Check.conversationId(conversationId);
      Check.that(seq >= 1, "seq must be positive");
    }
  }

  /** Asks for every participant's latest delivered and read markers. */
  record Receipts(String requestId, String conversationId) implements ClientFrame {
    public Receipts {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
    }
  }

  record Fetch(String requestId, String conversationId, long fromSeq, long toSeq) implements ClientFrame {
    public Fetch {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
      Check.that(fromSeq >= 1 && toSeq >= fromSeq, "need 1 <= fromSeq <= toSeq");
    }
  }

  record Typing(String conversationId, boolean active) implements ClientFrame {
    public Typing {
      Check.conversationId(conversationId);
    }
  }

  /**
   * Ciphertext for the participants' devices that are online now, neither stored nor sequenced (a streaming
   * partial reply, say): one envelope per recipient device as in {@link Send}, at least one. With a
   * {@code requestId} the server answers {@code ok} (seq 0) once it has handed the envelopes on.
   */
  record Ephemeral(String requestId, String conversationId, List<Envelope> envelopes) implements ClientFrame {
    public Ephemeral {
      Check.requestId(requestId);
      Check.conversationId(conversationId);
      Check.that(envelopes != null && !envelopes.isEmpty(), "envelopes are required (at least one)");
      envelopes = List.copyOf(envelopes);
    }
  }

  record Ping(String nonce) implements ClientFrame {
    public Ping {
      Check.that(nonce == null || nonce.length() <= 64, "nonce is at most 64 characters");
    }
  }

  record ListConversations(String requestId) implements ClientFrame {
    public ListConversations {
      Check.requestId(requestId);
    }
  }

  /** Asks for the presence of users the requester shares a conversation with (at most 100 per request). */
  record PresenceQuery(String requestId, List<String> users) implements ClientFrame {
    public static final int MAX_USERS = 100;

    public PresenceQuery {
      Check.requestId(requestId);
      Check.that(users != null && !users.isEmpty() && users.size() <= MAX_USERS,
          "users must name 1 to " + MAX_USERS + " accounts");
      users = List.copyOf(new java.util.LinkedHashSet<>(users));
      users.forEach(Check::accountId);
    }
  }
}
