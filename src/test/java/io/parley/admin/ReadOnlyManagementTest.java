package io.parley.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.testing.NodeExtension;
import io.parley.testing.NodeProcess;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The defaults: no admin token, cluster changes off. The management port only reads. */
class ReadOnlyManagementTest {
  private static final int MANAGEMENT = NodeProcess.freePort();

  @RegisterExtension
  static final NodeExtension parley = new NodeExtension(Map.of("pekko.management.http.port", MANAGEMENT));

  @Test
  void changesAreRefusedAndTheAdminApiIsOffWhileReadsStillWork() {
    String unknown = "/cluster/members/pekko://parley@127.0.0.1:1";

    HttpResponse<String> leave = OperatorHttp.send(MANAGEMENT, unknown, "PUT", "operation=Leave", "anything");
    HttpResponse<String> down = OperatorHttp.send(MANAGEMENT, unknown, "PUT", "operation=Down", null);
    HttpResponse<String> nodes = OperatorHttp.get(MANAGEMENT, "/v1/admin/nodes", "anything");

    assertThat(leave.statusCode()).isEqualTo(403);
    assertThat(leave.body()).contains("read_only");
    assertThat(down.statusCode()).isEqualTo(403);
    assertThat(OperatorHttp.send(MANAGEMENT, unknown, "DELETE", null, null).statusCode()).isEqualTo(403);
    assertThat(nodes.statusCode()).isEqualTo(403);
    assertThat(nodes.body()).contains("admin_disabled");
    assertThat(OperatorHttp.get(MANAGEMENT, "/cluster/members", null).statusCode()).isEqualTo(200);
    assertThat(OperatorHttp.get(MANAGEMENT, "/alive", null).statusCode()).isEqualTo(200);
  }
}
