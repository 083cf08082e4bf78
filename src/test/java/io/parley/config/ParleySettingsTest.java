package io.parley.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ParleySettingsTest {

  private static Config production(Map<String, Object> values) {
    return ConfigFactory.parseMap(values)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("production.conf"))
        .resolve();
  }

  @Test
  void theEmbeddedDefaultsNeedNothingFromTheEnvironment() {
    ParleySettings settings = ParleySettings.from(ConfigFactory.load()).validated();
    assertThat(settings.profile()).isEqualTo(ParleySettings.Profile.EMBEDDED);
    assertThat(settings.store().isEmbedded()).isTrue();
    assertThat(settings.redis().isEmbedded()).isTrue();
    assertThat(settings.auth().devTokensEnabled()).isTrue();
  }

  @Test
  void productionRefusesToStartOnEmbeddedStoresWithoutKeysOrPepper() {
    assertThatThrownBy(() -> ParleySettings.from(production(Map.of())).validated())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PARLEY_MONGODB_URI")
        .hasMessageContaining("PARLEY_REDIS_URL")
        .hasMessageContaining("PARLEY_IDENTITY_PEPPER")
        .hasMessageContaining("PARLEY_JWT_JWKS_URL");
  }

  @Test
  void productionNeverRunsDevTokens() {
    Map<String, Object> complete = Map.of(
        "parley.store.mongodb-uri", "mongodb://db:27017",
        "parley.redis.url", "redis://cache:6379",
        "parley.identity.pepper", "x".repeat(40),
        "parley.auth.jwks-url", "https://idp.example/jwks.json");
    ParleySettings ok = ParleySettings.from(production(complete)).validated();
    assertThat(ok.profile()).isEqualTo(ParleySettings.Profile.PRODUCTION);
    assertThat(ok.auth().devTokensEnabled()).isFalse();

    Map<String, Object> withDevTokens = new java.util.HashMap<>(complete);
    withDevTokens.put("parley.auth.dev-tokens.enabled", true);
    assertThatThrownBy(() -> ParleySettings.from(production(withDevTokens)).validated())
        .hasMessageContaining("dev tokens");
  }

  @Test
  void metricsAreOnInProductionOnAllInterfacesAndOffOnALaptop() {
    ParleySettings laptop = ParleySettings.from(ConfigFactory.load()).validated();
    assertThat(laptop.metrics().enabled()).isFalse();
    assertThat(laptop.admin().clusterChanges()).isFalse();

    ParleySettings production = ParleySettings.from(production(Map.of()));
    assertThat(production.metrics().enabled()).isTrue();
    assertThat(production.metrics().host()).isEqualTo("0.0.0.0");
    assertThat(production.metrics().port()).isEqualTo(9095);
  }

  @Test
  void clusterChangesAreNeverServedWithoutAnAdminTokenOfAtLeast32Characters() {
    assertThatThrownBy(() -> ParleySettings.from(ConfigFactory.parseMap(Map.of("parley.admin.cluster-changes", true))
            .withFallback(ConfigFactory.load())).validated())
        .hasMessageContaining("PARLEY_ADMIN_TOKEN");
    assertThatThrownBy(() -> ParleySettings.from(ConfigFactory.parseMap(Map.of("parley.auth.admin-token", "short"))
            .withFallback(ConfigFactory.load())).validated())
        .hasMessageContaining("at least 32");

    ParleySettings ok = ParleySettings.from(ConfigFactory.parseMap(Map.of(
            "parley.admin.cluster-changes", true, "parley.auth.admin-token", "t".repeat(32)))
        .withFallback(ConfigFactory.load())).validated();
    assertThat(ok.admin().clusterChanges()).isTrue();
  }
}
