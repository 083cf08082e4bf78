package io.parley.agent.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.agent.kms.KeyEncryptionKey.KeyUnwrapException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalKeyFileKekTest {
  @TempDir Path dir;

  @Test
  void wrapsAndUnwrapsUnderTheSameContext() {
    LocalKeyFileKek kek = LocalKeyFileKek.open(dir.resolve("agent-kek"), true);
    byte[] wrapped = kek.wrap("secret".getBytes(StandardCharsets.UTF_8), "agent-secret:echo");
    assertThat(new String(wrapped, StandardCharsets.ISO_8859_1)).doesNotContain("secret");
    assertThat(kek.unwrap(wrapped, "agent-secret:echo")).asString(StandardCharsets.UTF_8).isEqualTo("secret");
  }

  @Test
  void aValueMovedToAnotherContextOrAlteredDoesNotOpen() {
    LocalKeyFileKek kek = LocalKeyFileKek.open(dir.resolve("agent-kek"), true);
    byte[] wrapped = kek.wrap(new byte[] {1, 2, 3}, "agent-secret:echo");
    assertThatThrownBy(() -> kek.unwrap(wrapped, "agent-secret:billing")).isInstanceOf(KeyUnwrapException.class);
    wrapped[wrapped.length - 1] ^= 1;
    assertThatThrownBy(() -> kek.unwrap(wrapped, "agent-secret:echo")).isInstanceOf(KeyUnwrapException.class);
    assertThatThrownBy(() -> kek.unwrap(new byte[3], "agent-secret:echo")).isInstanceOf(KeyUnwrapException.class);
  }

  @Test
  void theKeyFileIsCreatedOnceOwnerOnlyAndReadBack() throws Exception {
    Path file = dir.resolve("agent-kek");
    LocalKeyFileKek first = LocalKeyFileKek.open(file, true);
    byte[] wrapped = first.wrap(new byte[] {7}, "c");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    LocalKeyFileKek again = LocalKeyFileKek.open(file, false);
    assertThat(again.keyId()).isEqualTo(first.keyId());
    assertThat(again.unwrap(wrapped, "c")).containsExactly(7);
  }

  @Test
  void productionRefusesAMissingKeyFileWithAClearMessage() {
    assertThatThrownBy(() -> LocalKeyFileKek.open(dir.resolve("absent"), false))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PARLEY_AGENT_KEK_FILE");
  }

  @Test
  void aKeyFileOfTheWrongLengthIsRefused() throws Exception {
    Path file = dir.resolve("short");
    Files.writeString(file, "c2hvcnQ=");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertThatThrownBy(() -> LocalKeyFileKek.open(file, false)).hasMessageContaining("32 bytes");
  }
}
