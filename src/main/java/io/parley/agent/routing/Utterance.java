package io.parley.agent.routing;

import java.text.Normalizer;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The form of a user's text that classification and the intent cache see: Unicode NFKC, lower case,
 * white space collapsed to single spaces, punctuation and symbols stripped at both ends. Texts that differ
 * only in those respects ("Where is my parcel?!" and "where is my  parcel") are one utterance.
 */
public final class Utterance {
  private static final Pattern SPACES = Pattern.compile("\\s+");
  private static final Pattern ENDS = Pattern.compile("^[\\p{P}\\p{S}\\s]+|[\\p{P}\\p{S}\\s]+$");

  private Utterance() {}

  public static String normalise(String text) {
    String folded = Normalizer.normalize(text, Normalizer.Form.NFKC).toLowerCase(Locale.ROOT);
    return ENDS.matcher(SPACES.matcher(folded).replaceAll(" ")).replaceAll("");
  }
}
