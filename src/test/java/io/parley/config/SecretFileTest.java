package io.parley.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretFileTest {

  @TempDir Path dir;

  @Test
  void generatesOnceThenReadsBack() throws Exception {
    AtomicInteger generated = new AtomicInteger();
    Path file = dir.resolve("nested/secret");

    String first = SecretFile.readOrCreate(file, () -> "secret-" + generated.incrementAndGet());
    String second = SecretFile.readOrCreate(file, () -> "secret-" + generated.incrementAndGet());

    assertThat(first).isEqualTo("secret-1").isEqualTo(second);
    assertThat(generated).hasValue(1);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    try (var leftovers = Files.list(file.getParent())) {
      assertThat(leftovers).containsExactly(file);
    }
  }

  @Test
  void restrictsAFileOthersCanRead() throws Exception {
    Path file = dir.resolve("secret");
    Files.writeString(file, "kept\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    assertThat(SecretFile.readOrCreate(file, () -> "new")).isEqualTo("kept");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
  }

  @Test
  void refusesAnEmptyFile() throws Exception {
    Path file = dir.resolve("secret");
    Files.writeString(file, "  \n");

    assertThatThrownBy(() -> SecretFile.readOrCreate(file, () -> "new")).isInstanceOf(IllegalStateException.class);
  }
}
