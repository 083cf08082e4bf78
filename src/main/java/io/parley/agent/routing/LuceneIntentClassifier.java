package io.parley.agent.routing;

import io.parley.agent.AgentSpec;
import io.parley.agent.RegistrySnapshot;
import io.parley.agent.routing.FallbackPolicy.Candidate;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;

/**
 * Intent classification with Lucene (docs/adr/0017): an in-memory BM25 index of the routable agents, one
 * document per agent holding its name, description and example utterances, analysed in English (stemming,
 * stop words). A text is the query (its terms as optional clauses); each agent's document gets a BM25 score.
 * The scores become a confidence by a softmax with an outside option: agent {@code a} with BM25 score
 * {@code s_a} has confidence {@code exp(s_a/T) / (1 + sum_b exp(s_b/T))} over the agents that matched, where
 * the 1 is "none of them" at score 0. Then the {@link FallbackPolicy} decides.
 *
 * <p>The index is built once per registry snapshot version, when a snapshot of a newer version is first
 * classified against, and swapped in atomically; a message never waits for more than one build (about a
 * millisecond for a few hundred examples), and never for a build of an unchanged registry. A snapshot older
 * than the current index (a message that raced a refresh) gets an index of its own that is not kept.
 *
 * <p>Classification is CPU work of a fraction of a millisecond. With the one-argument constructor it runs on
 * the caller's thread and the stage is complete on return; give an {@link Executor} to run it there instead
 * (e.g. a dispatcher for blocking or CPU work, to keep it off actor threads). Thread-safe.
 */
public final class LuceneIntentClassifier implements IntentClassifier {
  /** BM25 scores are divided by this before the softmax: a score margin of T is a factor e in confidence. */
  public static final double DEFAULT_TEMPERATURE = 1.0;

  private static final String AGENT = "agent";
  private static final String TEXT = "text";
  /** Longer texts are cut: the first few hundred characters carry the intent, and queries stay cheap. */
  private static final int MAX_CHARS = 1_000;
  private static final int MAX_TERMS = 64;

  private final FallbackPolicy policy;
  private final Executor executor;
  private final double temperature;
  private final Analyzer analyzer = new EnglishAnalyzer();
  private final AtomicReference<AgentIndex> current = new AtomicReference<>();
  private final AtomicLong builds = new AtomicLong();

  /** Classifies on the caller's thread. */
  public LuceneIntentClassifier(FallbackPolicy policy) {
    this(policy, Runnable::run, DEFAULT_TEMPERATURE);
  }

  /** Classifies on {@code executor}. */
  public LuceneIntentClassifier(FallbackPolicy policy, Executor executor) {
    this(policy, executor, DEFAULT_TEMPERATURE);
  }

  public LuceneIntentClassifier(FallbackPolicy policy, Executor executor, double temperature) {
    if (!(temperature > 0)) {
      throw new IllegalArgumentException("temperature must be positive: " + temperature);
    }
    this.policy = policy;
    this.executor = executor;
    this.temperature = temperature;
  }

  @Override
  public CompletionStage<IntentDecision> classify(String text, RegistrySnapshot snapshot) {
    return CompletableFuture.supplyAsync(() -> classifyNow(text, snapshot), executor);
  }

  /**
   * Classifies on the calling thread.
   *
   * @throws NoRoutableAgentException when the snapshot has no routable agent
   */
  public IntentDecision classifyNow(String text, RegistrySnapshot snapshot) {
    AgentIndex index = indexFor(snapshot);
    if (index.routable().isEmpty()) {
      throw new NoRoutableAgentException(snapshot.version());
    }
    return policy.decide(best(text, index), index.routable(), snapshot.version());
  }

  /** How many indexes were built, for tests. */
  long indexBuilds() {
    return builds.get();
  }

  private Optional<Candidate> best(String text, AgentIndex index) {
    Map<String, Double> scores = scores(text, index);
    if (scores.isEmpty()) {
      return Optional.empty();
    }
    double top = scores.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    // the softmax shifted by the top score, so that large scores cannot overflow
    double sum = Math.exp(-top / temperature);
    String best = null;
    for (Map.Entry<String, Double> e : scores.entrySet()) {
      sum += Math.exp((e.getValue() - top) / temperature);
      if (e.getValue() == top && (best == null || e.getKey().compareTo(best) < 0)) {
        best = e.getKey();
      }
    }
    return Optional.of(new Candidate(best, 1.0 / sum));
  }

  /** Each matching agent's best BM25 score. */
  private Map<String, Double> scores(String text, AgentIndex index) {
    Set<String> terms = terms(Utterance.normalise(text));
    if (terms.isEmpty()) {
      return Map.of();
    }
    BooleanQuery.Builder query = new BooleanQuery.Builder();
    terms.forEach(t -> query.add(new TermQuery(new Term(TEXT, t)), BooleanClause.Occur.SHOULD));
    try {
      TopDocs hits = index.searcher().search(query.build(), index.documents());
      Map<String, Double> best = new HashMap<>();
      for (ScoreDoc hit : hits.scoreDocs) {
        best.merge(index.agentOf()[hit.doc], (double) hit.score, Math::max);
      }
      return best;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Set<String> terms(String text) {
    Set<String> terms = new LinkedHashSet<>();
    String cut = text.length() > MAX_CHARS ? text.substring(0, MAX_CHARS) : text;
    try (TokenStream tokens = analyzer.tokenStream(TEXT, cut)) {
      CharTermAttribute term = tokens.addAttribute(CharTermAttribute.class);
      tokens.reset();
      while (tokens.incrementToken() && terms.size() < MAX_TERMS) {
        terms.add(term.toString());
      }
      tokens.end();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return terms;
  }

  private AgentIndex indexFor(RegistrySnapshot snapshot) {
    AgentIndex index = current.get();
    if (index != null && index.version() == snapshot.version()) {
      return index;
    }
    if (index != null && snapshot.version() < index.version()) {
      return build(snapshot);
    }
    synchronized (current) {
      index = current.get();
      if (index == null || index.version() < snapshot.version()) {
        index = build(snapshot);
        // readers of the replaced index finish on it; it holds only heap memory, so nothing needs closing
        current.set(index);
      }
      return index.version() == snapshot.version() ? index : build(snapshot);
    }
  }

  private AgentIndex build(RegistrySnapshot snapshot) {
    builds.incrementAndGet();
    ByteBuffersDirectory directory = new ByteBuffersDirectory();
    IndexWriterConfig config = new IndexWriterConfig(analyzer).setSimilarity(new BM25Similarity());
    Map<String, AgentSpec> routable = snapshot.routable();
    try {
      try (IndexWriter writer = new IndexWriter(directory, config)) {
        for (AgentSpec agent : routable.values()) {
          writer.addDocument(document(agent));
        }
      }
      DirectoryReader reader = DirectoryReader.open(directory);
      IndexSearcher searcher = new IndexSearcher(reader);
      searcher.setSimilarity(new BM25Similarity());
      String[] agentOf = new String[reader.maxDoc()];
      StoredFields stored = reader.storedFields();
      for (int doc = 0; doc < agentOf.length; doc++) {
        agentOf[doc] = stored.document(doc).get(AGENT);
      }
      return new AgentIndex(snapshot.version(), routable, searcher, agentOf);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The agent's name, description and examples as one document: values of one field, scored together. */
  private static Document document(AgentSpec agent) {
    Document doc = new Document();
    doc.add(new StoredField(AGENT, agent.id()));
    doc.add(new TextField(TEXT, Utterance.normalise(agent.displayName()), Field.Store.NO));
    doc.add(new TextField(TEXT, Utterance.normalise(agent.description()), Field.Store.NO));
    for (String example : agent.examples()) {
      doc.add(new TextField(TEXT, Utterance.normalise(example), Field.Store.NO));
    }
    return doc;
  }

  /** An index of the routable agents of one registry version, and those agents. */
  private record AgentIndex(long version, Map<String, AgentSpec> routable, IndexSearcher searcher, String[] agentOf) {
    int documents() {
      return Math.max(1, agentOf.length);
    }
  }
}
