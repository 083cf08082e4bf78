package io.parley.admin;

import static io.parley.testing.Chat.newConversationId;
import static io.parley.testing.Chat.newKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.parley.protocol.ServerFrame;
import io.parley.testing.Chat;
import io.parley.testing.DevAccounts;
import io.parley.testing.DevAccounts.Account;
import io.parley.testing.NodeExtension;
import io.parley.testing.NodeProcess;
import io.parley.testing.WsClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The admin API and the cluster routes of the management port, with cluster changes turned on. */
class OperatorAccessTest {
  private static final String ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789abcdef";
  private static final int MANAGEMENT = NodeProcess.freePort();
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of(
      "pekko.management.http.port", MANAGEMENT,
      "parley.auth.admin-token", ADMIN_TOKEN,
      "parley.admin.cluster-changes", true));

  @Test
  void theAdminApiRefusesRequestsWithoutTheAdminToken() {
    Account user = DevAccounts.login(parley.port(), "not-an-operator");

    HttpResponse<String> none = OperatorHttp.get(MANAGEMENT, "/v1/admin/nodes", null);
    HttpResponse<String> wrong = OperatorHttp.get(MANAGEMENT, "/v1/admin/nodes", ADMIN_TOKEN + "x");
    HttpResponse<String> userToken = OperatorHttp.get(MANAGEMENT, "/v1/admin/nodes", user.token());

    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    assertThat(none.body()).contains("unauthenticated");
    assertThat(wrong.statusCode()).isEqualTo(401);
    assertThat(wrong.body()).contains("token_invalid").doesNotContain("Up");
    assertThat(userToken.statusCode()).isEqualTo(401);
  }

  @Test
  void theAdminApiShowsThisNodeWithItsLiveConnectionsAndHostedEntities() throws Exception {
    Account alice = DevAccounts.login(parley.port(), "alice-ops");
    Account bob = DevAccounts.login(parley.port(), "bob-ops");
    String self = Cluster.get(parley.node().system()).selfMember().address().toString();
    try (WsClient a = Chat.connect(parley.port(), alice); WsClient b = Chat.connect(parley.port(), bob)) {
      String id = newConversationId();
      Chat.create(a, id, List.of(bob.accountId()));
      Chat.sendUntilAcked(a, Chat.send(id, newKey(), bob, "for the counts"));
      b.await(ServerFrame.Message.class, m -> m.conversationId().equals(id));

      JsonNode node = await().atMost(Duration.ofSeconds(10))
          .until(() -> selfNode(self), n -> n != null && n.path("connections").asInt(-1) == 2);
      assertThat(node.path("status").asText()).isEqualTo("Up");
      assertThat(node.path("appVersion").asText())
          .isEqualTo(com.typesafe.config.ConfigFactory.load().getString("parley.build.version"));
      assertThat(node.path("roles").isArray()).isTrue();
      JsonNode entities = node.path("entities");
      assertThat(entities.path("Conversation").path("entities").asInt()).isGreaterThanOrEqualTo(1);
      assertThat(entities.path("Conversation").path("shards").asInt()).isGreaterThanOrEqualTo(1);
      assertThat(entities.path("DeviceSession").path("entities").asInt()).isGreaterThanOrEqualTo(2);
      assertThat(entities.path("Inbox").path("entities").asInt()).isGreaterThanOrEqualTo(2);
      assertThat(entities.path("KeyDirectory").path("entities").asInt()).isGreaterThanOrEqualTo(2);

      b.close();
      await().atMost(Duration.ofSeconds(10))
          .until(() -> selfNode(self), n -> n != null && n.path("connections").asInt(-1) == 1);
    }
  }

  @Test
  void clusterReadsAndHealthNeedNoCredentialsButChangesNeedTheAdminToken() throws Exception {
    String self = Cluster.get(parley.node().system()).selfMember().address().toString();
    String unknown = "/cluster/members/pekko://parley@127.0.0.1:1";

    HttpResponse<String> members = OperatorHttp.get(MANAGEMENT, "/cluster/members", null);
    assertThat(members.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(members.body()).path("selfNode").asText()).isEqualTo(self);
    assertThat(OperatorHttp.get(MANAGEMENT, "/cluster/shards/Conversation", null).statusCode()).isEqualTo(200);
    assertThat(OperatorHttp.get(MANAGEMENT, "/alive", null).statusCode()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> OperatorHttp.get(MANAGEMENT, "/ready", null).statusCode() == 200);

    assertThat(OperatorHttp.send(MANAGEMENT, unknown, "PUT", "operation=Leave", null).statusCode()).isEqualTo(401);
    assertThat(OperatorHttp.send(MANAGEMENT, unknown, "PUT", "operation=Down", "wrong").statusCode()).isEqualTo(401);
    assertThat(OperatorHttp.send(MANAGEMENT, unknown, "DELETE", null, null).statusCode()).isEqualTo(401);
    assertThat(OperatorHttp.send(MANAGEMENT, "/cluster/members", "POST", "address=pekko://parley@127.0.0.1:1", null)
        .statusCode()).isEqualTo(401);
    // with the token the request reaches the cluster routes, which know no such member: nothing is changed
    HttpResponse<String> admitted = OperatorHttp.send(MANAGEMENT, unknown, "PUT", "operation=Leave", ADMIN_TOKEN);
    assertThat(admitted.statusCode()).isEqualTo(404);
    assertThat(admitted.body()).contains("not found");
    assertThat(Cluster.get(parley.node().system()).selfMember().status().toString()).isEqualTo("Up");
  }

  private static JsonNode selfNode(String self) throws Exception {
    HttpResponse<String> response = OperatorHttp.get(MANAGEMENT, "/v1/admin/nodes", ADMIN_TOKEN);
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = JSON.readTree(response.body());
    assertThat(body.path("self").asText()).isEqualTo(self);
    for (JsonNode node : body.path("nodes")) {
      if (node.path("address").asText().equals(self)) {
        return node;
      }
    }
    return null;
  }
}
