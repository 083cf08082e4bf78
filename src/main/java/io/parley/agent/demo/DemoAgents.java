package io.parley.agent.demo;

import com.sun.net.httpserver.HttpServer;
import io.parley.agent.AgentSettings.DemoSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Parley's demo agents on one HTTP port: the echo/FAQ agent at {@code /echo} and the OpenAI-compatible
 * forwarder at {@code /openai}, each a CloudEvents receiver that replies to Parley's
 * {@code <parleyUrl>/v1/agents/<agentId>/events} with its own secret. Served by {@code parley agent-demo},
 * or in-process beside an embedded node. Plain JDK HTTP: no actor system needed.
 */
public final class DemoAgents implements AutoCloseable {

  /** Who a demo agent is in Parley's registry: its id and its shared secret. */
  public record Identity(String agentId, String secret) {
    public Identity {
      Objects.requireNonNull(agentId);
      if (secret == null || secret.isEmpty()) {
        throw new IllegalArgumentException("demo agent " + agentId + " needs a secret");
      }
    }

    @Override
    public String toString() {
      return "Identity[" + agentId + "]";
    }
  }

  /**
   * The chat-completions service the forwarder calls: {@code baseUrl} empty means not configured. The API
   * key is only ever taken from the environment ({@value #API_KEY_ENV}).
   */
  public record OpenAi(Optional<URI> baseUrl, Optional<String> apiKey, String model) {
    public static final String API_KEY_ENV = "PARLEY_OPENAI_API_KEY";

    /** From the demo settings and the API key in the environment. */
    public static OpenAi from(DemoSettings settings, Map<String, String> environment) {
      String base = settings.openAiBaseUrl().strip();
      String key = environment.getOrDefault(API_KEY_ENV, "").strip();
      return new OpenAi(base.isEmpty() ? Optional.empty() : Optional.of(URI.create(base)),
          key.isEmpty() ? Optional.empty() : Optional.of(key), settings.openAiModel());
    }

    @Override
    public String toString() {
      return "OpenAi[" + baseUrl.map(URI::toString).orElse("not configured") + ", " + model + "]";
    }
  }

  /** Where to listen (port 0: any free port), where Parley is, and the two agents. */
  public record Options(String host, int port, URI parleyUrl, Identity echo, Identity openAi, OpenAi openAiService) {

    /** From the {@code parley.agents.demo} settings, on 127.0.0.1. */
    public static Options from(DemoSettings settings, URI parleyUrl, String echoSecret, String openAiSecret,
                               Map<String, String> environment) {
      return new Options("127.0.0.1", settings.port(), parleyUrl, new Identity(settings.echoId(), echoSecret),
          new Identity(settings.openAiId(), openAiSecret), OpenAi.from(settings, environment));
    }
  }

  private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(10);

  private final HttpServer server;
  private final ExecutorService serverThreads;
  private final ExecutorService workers;

  private DemoAgents(HttpServer server, ExecutorService serverThreads, ExecutorService workers) {
    this.server = server;
    this.serverThreads = serverThreads;
    this.workers = workers;
  }

  public static DemoAgents start(Options options) {
    return start(options, Clock.systemUTC());
  }

  public static DemoAgents start(Options options, Clock clock) {
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(HTTP_TIMEOUT)
        .build();
    ReplySender replies = new ReplySender(http, options.parleyUrl(), clock);
    EchoFaqAgent echo = new EchoFaqAgent(options.echo(), replies);
    OpenAiForwarder forwarder = new OpenAiForwarder(options.openAi(), replies, http, options.openAiService(), clock);

    ExecutorService serverThreads = Executors.newFixedThreadPool(4, daemon("parley-demo-http"));
    ExecutorService workers = Executors.newFixedThreadPool(8, daemon("parley-demo-agent"));
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 64);
    } catch (IOException e) {
      serverThreads.shutdownNow();
      workers.shutdownNow();
      throw new UncheckedIOException("cannot listen on " + options.host() + ":" + options.port(), e);
    }
    server.createContext("/echo", new DemoReceiver(options.echo(), echo::handle, workers, clock));
    server.createContext("/openai", new DemoReceiver(options.openAi(), forwarder::handle, workers, clock));
    server.setExecutor(serverThreads);
    server.start();
    return new DemoAgents(server, serverThreads, workers);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The endpoint to register for the echo/FAQ agent. */
  public URI echoEndpoint() {
    return endpoint("/echo");
  }

  /** The endpoint to register for the OpenAI-compatible forwarder. */
  public URI openAiEndpoint() {
    return endpoint("/openai");
  }

  /** Stops listening at once and gives replies in progress a moment to go out. */
  @Override
  public void close() {
    server.stop(0);
    serverThreads.shutdownNow();
    workers.shutdown();
    try {
      if (!workers.awaitTermination(2, TimeUnit.SECONDS)) {
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      workers.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private URI endpoint(String path) {
    InetSocketAddress address = server.getAddress();
    String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getHostString();
    return URI.create("http://" + host + ":" + address.getPort() + path);
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + "-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
