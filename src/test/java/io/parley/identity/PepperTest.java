package io.parley.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.parley.config.ParleySettings.IdentitySettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PepperTest {

  @TempDir Path dataDir;
  @TempDir Path otherDataDir;

  @Test
  void usesTheConfiguredPepper() {
    String configured = "a-configured-pepper-of-forty-characters!";

    byte[] pepper = Pepper.loadOrCreate(new IdentitySettings(configured), dataDir);

    assertThat(pepper).isEqualTo(configured.getBytes(StandardCharsets.UTF_8));
    assertThat(dataDir.resolve(Pepper.FILE)).doesNotExist();
  }

  @Test
  void refusesAShortConfiguredPepper() {
    assertThatThrownBy(() -> Pepper.loadOrCreate(new IdentitySettings("too-short"), dataDir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("too-short");
  }

  @Test
  void generatesOneIntoTheDataDirAndKeepsIt() throws Exception {
    byte[] first = Pepper.loadOrCreate(new IdentitySettings(""), dataDir);
    byte[] again = Pepper.loadOrCreate(new IdentitySettings(""), dataDir);

    assertThat(first).hasSizeGreaterThanOrEqualTo(Pepper.MIN_CHARS).isEqualTo(again);
    assertThat(Pepper.loadOrCreate(new IdentitySettings(""), otherDataDir)).isNotEqualTo(first);
    Path file = dataDir.resolve(Pepper.FILE);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
  }

  @Test
  void aGeneratedPepperCopiedIntoTheSettingHashesTheSame() throws Exception {
    byte[] generated = Pepper.loadOrCreate(new IdentitySettings(""), dataDir);
    String fileContent = Files.readString(dataDir.resolve(Pepper.FILE));

    assertThat(Pepper.loadOrCreate(new IdentitySettings(fileContent), otherDataDir)).isEqualTo(generated);
  }
}
