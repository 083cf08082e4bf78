package io.parley.agent.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UtteranceTest {

  @Test
  void foldsCaseWidthAndSpacesAndStripsPunctuationAtTheEnds() {
    assertThat(Utterance.normalise("  Where is   my\tPARCEL?! ")).isEqualTo("where is my parcel");
    assertThat(Utterance.normalise("ｗｈｅｒｅ is my parcel")).isEqualTo("where is my parcel");
    assertThat(Utterance.normalise("¿¡Hola!? 👋")).isEqualTo("hola");
  }

  @Test
  void keepsPunctuationInside() {
    assertThat(Utterance.normalise("What's order #44-812?")).isEqualTo("what's order #44-812");
  }

  @Test
  void punctuationAloneIsEmpty() {
    assertThat(Utterance.normalise(" ?!… ")).isEmpty();
  }
}
