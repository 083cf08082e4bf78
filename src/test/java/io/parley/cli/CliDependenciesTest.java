package io.parley.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/** The command-line client is an SDK application like any other: it sees the server only over the wire. */
class CliDependenciesTest {
  private static final JavaClasses CLI = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.parley.cli");

  @Test
  void theCliUsesTheSdkTheJdkPicocliJlineAndJacksonOnly() {
    Assertions.assertThat(CLI).as("cli classes found").hasSizeGreaterThan(10);
    classes().that().resideInAPackage("io.parley.cli..")
        .should().onlyDependOnClassesThat().resideInAnyPackage(
            "io.parley.cli..",
            "io.parley.client..",
            "java..",
            "javax.crypto..",
            "picocli..",
            "org.jline..",
            "com.fasterxml.jackson.core..",
            "com.fasterxml.jackson.databind..")
        .because("the CLI must work against any Parley node through the SDK's public API, never server classes")
        .check(CLI);
  }
}
