package io.parley.identity;

import io.parley.config.ParleySettings.IdentitySettings;
import io.parley.config.SecretFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The secret key of the keyed hash that stands in for user handles in storage. Every node of a
 * cluster must use the same pepper, and it must never change: a different pepper makes every
 * existing account unreachable. Production sets it ({@code PARLEY_IDENTITY_PEPPER}); a single
 * embedded node generates one into its data directory, whose content can later be copied into
 * that setting unchanged.
 */
public final class Pepper {

  static final String FILE = "identity-pepper";
  static final int MIN_CHARS = 32;

  private Pepper() {}

  public static byte[] loadOrCreate(IdentitySettings settings, Path dataDir) {
    String pepper = settings.pepper().isBlank()
        ? SecretFile.readOrCreate(dataDir.resolve(FILE), Pepper::generate)
        : settings.pepper().strip();
    if (pepper.length() < MIN_CHARS) {
      throw new IllegalArgumentException(
          "parley.identity.pepper must be at least " + MIN_CHARS + " characters of random data");
    }
    return pepper.getBytes(StandardCharsets.UTF_8);
  }

  private static String generate() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
