package io.parley.client;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/** The SDK is embedded in chat apps: it must not pull in any of the server. */
class ClientDependenciesTest {
  private static final JavaClasses CLIENT = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.parley.client");

  @Test
  void theClientDependsOnlyOnItselfTheJdkLibsignalAndJackson() {
    Assertions.assertThat(CLIENT).as("client classes found").hasSizeGreaterThan(10);
    classes().that().resideInAPackage("io.parley.client..")
        .should().onlyDependOnClassesThat().resideInAnyPackage(
            "io.parley.client..",
            "java..",
            "javax.crypto..",
            "org.signal.libsignal.protocol..",
            "com.fasterxml.jackson.core..",
            "com.fasterxml.jackson.databind..")
        .because("chat apps embed the SDK without the server (Pekko, MongoDB, Redis, the server's frame classes)")
        .check(CLIENT);
  }
}
