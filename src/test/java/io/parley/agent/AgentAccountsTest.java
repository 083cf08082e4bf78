package io.parley.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.parley.identity.Accounts;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class AgentAccountsTest {
  private static final byte[] PEPPER = "a pepper of at least thirty-two characters".getBytes(StandardCharsets.UTF_8);

  @Test
  void anAgentsAccountIdIsStableShapedLikeEveryAccountAndDiffersPerAgentAndPepper() {
    AgentAccounts accounts = new AgentAccounts(PEPPER);
    String echo = accounts.accountIdOf("echo");
    assertThat(Accounts.isAccountId(echo)).isTrue();
    assertThat(new AgentAccounts(PEPPER.clone()).accountIdOf("echo")).isEqualTo(echo);
    assertThat(accounts.accountIdOf("billing")).isNotEqualTo(echo);
    assertThat(new AgentAccounts("another pepper of at least thirty-two chars".getBytes(StandardCharsets.UTF_8))
        .accountIdOf("echo")).isNotEqualTo(echo);
  }
}
