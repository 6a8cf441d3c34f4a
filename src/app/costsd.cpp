#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>

#include "app/app.hpp"
#include "app/connections.hpp"
#include "app/logging.hpp"
#include "app/metered.hpp"
#include "app/metrics_listener.hpp"
#include "app/options.hpp"
#include "app/print_config.hpp"
#include "app/rate_limits.hpp"
#include "app/version.hpp"
#include "app/wiring.hpp"
#include "http/dashboard.hpp"
#include "http/route_label.hpp"
#include "http/server.hpp"
#include "http/web_asset.hpp"
#include "metrics/prometheus/prometheus_metrics.hpp"
#include "security/sodium_password_hasher.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/limited_hasher.hpp"

namespace costs::app {
namespace {

constexpr const char* kCostsdUsage =
    "usage: costsd [--config FILE] [--print-config] [--version]\n"
    "              [--db URL] [--db-pool N] [--db-timeout-ms N] [--listen HOST:PORT]\n"
    "              [--rate-limit N] [--rate-burst N] [--failed-login-rate N] [--failed-login-burst N]\n"
    "              [--max-range-days N] [--log-level L] [--log-format text|json] [--metrics-token TOKEN]\n"
    "              [--metrics-listen HOST:PORT]\n"
    "              [--threads N] [--body-cache-mib N] [--trusted-proxies LIST]\n"
    "              [--rate-limit-redis redis://[:PASSWORD@]HOST[:PORT][/DB]]\n"
    "              [--max-connections N] [--max-connections-per-address N] [--keep-alive-timeout S]\n"
    "              [--listen-tls HOST:PORT --tls-cert FILE --tls-key FILE]\n"
    "  --config FILE       read the flags' values from a TOML file: a key per flag, named as the flag\n"
    "                      (listen = \"127.0.0.1:8080\", rate-limit = 20); flag > env > file > default\n"
    "                      env COSTS_CONFIG\n"
    "  --print-config      print the effective configuration, where each value came from, and exit\n"
    "  --version           print the version and the git commit of this build, and exit\n"
    "  --db URL            sqlite:PATH (default sqlite:var/costs.db) or postgresql://...  env COSTS_DB\n"
    "  --db-pool N         store connections (PostgreSQL default 8)           env COSTS_DB_POOL\n"
    "  --db-timeout-ms N   statement timeout (PostgreSQL default 10000)       env COSTS_DB_TIMEOUT_MS\n"
    "  --listen HOST:PORT  address to serve on (default 127.0.0.1:8080, unless only --listen-tls\n"
    "                      is given; port 0 = any)                           env COSTS_LISTEN\n"
    "  --listen-tls HOST:PORT  address to serve HTTPS on (TLS 1.2 and 1.3), beside --listen or\n"
    "                      instead of it                                     env COSTS_LISTEN_TLS\n"
    "  --tls-cert FILE     PEM certificate chain for --listen-tls, server's first; read again\n"
    "                      on SIGHUP                                         env COSTS_TLS_CERT\n"
    "  --tls-key FILE      PEM private key of --tls-cert; read again on SIGHUP  env COSTS_TLS_KEY\n"
    "  --rate-limit N      requests per second per principal (default 100; 0 = off)  env COSTS_RATE_LIMIT\n"
    "  --rate-burst N      token bucket size (default 2 x rate-limit)         env COSTS_RATE_BURST\n"
    "  --failed-login-rate N   failed logins per second a client address regains (default 0.5; 0 = no lockout)\n"
    "                      env COSTS_FAILED_LOGIN_RATE\n"
    "  --failed-login-burst N  failed logins a client address may make at once (default 10)\n"
    "                      env COSTS_FAILED_LOGIN_BURST\n"
    "  --rate-limit-redis URL  share the rate limits of all replicas in this Redis (default: each\n"
    "                      replica limits on its own; while Redis is down, too)  env COSTS_RATE_LIMIT_REDIS\n"
    "  --max-range-days N  longest from..to range (default 1096)             env COSTS_MAX_RANGE_DAYS\n"
    "  --log-level L       trace, debug, info, warn, error, off (default info) env COSTS_LOG_LEVEL\n"
    "  --log-format F      text or json (one JSON object per line; default text)  env COSTS_LOG_FORMAT\n"
    "  --metrics-token T   GET /metrics requires Authorization: Bearer T (default: open)\n"
    "                      env COSTS_METRICS_TOKEN\n"
    "  --metrics-listen HOST:PORT  serve GET /metrics there only, not on --listen  env COSTS_METRICS_LISTEN\n"
    "  --threads N         I/O threads (default: one per core)               env COSTS_THREADS\n"
    "  --body-cache-mib N  memory for rendered range responses (default 64; 0 = off)  env COSTS_BODY_CACHE_MIB\n"
    "  --trusted-proxies LIST  reverse proxies (addresses/CIDRs, comma-separated) whose\n"
    "                      X-Forwarded-For names the client (default none)   env COSTS_TRUSTED_PROXIES\n"
    "  --max-connections N open connections (default: the open-file limit, raised to its hard\n"
    "                      limit at start, less 2 x db-pool less 64)         env COSTS_MAX_CONNECTIONS\n"
    "  --max-connections-per-address N  open connections from one address; trusted proxies\n"
    "                      are exempt (default 256)                          env COSTS_MAX_CONNECTIONS_PER_ADDRESS\n"
    "  --keep-alive-timeout S  seconds an idle connection may wait for its next request\n"
    "                      (default 5)                                       env COSTS_KEEP_ALIVE_TIMEOUT\n";

// Failed logins allowed per client address by default: a burst of 10, then one every 2 seconds.
constexpr double kFailedLoginRate = 0.5;
constexpr double kFailedLoginBurst = 10;

int UsageError(const std::string& message) {
  std::fprintf(stderr, "costsd: %s\n%s", message.c_str(), kCostsdUsage);
  return 2;
}

bool AsksFor(int argc, char** argv, std::string_view flag, std::string_view alias) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == flag || std::string_view(argv[i]) == alias) return true;
  }
  return false;
}

// The option table of costsd (with StoreFlagSpecs and ConnectionFlagSpecs): each flag with
// from_env is also a key of --config files and a line of --print-config (options.hpp).
std::vector<Flags::Spec> CostsdFlagSpecs() {
  using K = Flags::Kind;
  std::vector<Flags::Spec> specs = {
      {"config", true, false, true, K::kText},
      {"print-config", false, false, false},
      {"version", false, false, false},
      {"db", true, false, true, K::kText, std::string(kDefaultDb)},
      {"listen", true, false, true, K::kText, "127.0.0.1:8080"},
      {"listen-tls", true, false, true, K::kText, "none"},
      {"tls-cert", true, false, true, K::kText, "none"},
      {"tls-key", true, false, true, K::kText, "none"},
      {"rate-limit", true, false, true, K::kNumber, "100"},
      {"rate-burst", true, false, true, K::kNumber, "2 x rate-limit"},
      {"max-range-days", true, false, true, K::kInteger, "1096"},
      {"failed-login-rate", true, false, true, K::kNumber, "0.5"},
      {"failed-login-burst", true, false, true, K::kNumber, "10"},
      {"log-level", true, false, true, K::kText, "info"},
      {"log-format", true, false, true, K::kText, "text"},
      {"metrics-token", true, false, true, K::kText, "none (/metrics open)"},
      {"metrics-listen", true, false, true, K::kText, "none (/metrics on --listen)"},
      {"threads", true, false, true, K::kInteger, "one per core"},
      {"body-cache-mib", true, false, true, K::kInteger, "64"},
      {"trusted-proxies", true, false, true, K::kText, "none"},
      {"rate-limit-redis", true, false, true, K::kText, "none (each replica on its own)"}};
  for (Flags::Spec& spec : StoreFlagSpecs()) specs.push_back(std::move(spec));
  for (Flags::Spec& spec : ConnectionFlagSpecs()) specs.push_back(std::move(spec));
  return specs;
}

// The numeric flags of costsd, checked in this order.
struct Limits {
  double rate = 0;                // --rate-limit, requests per second per principal
  double burst = 0;               // --rate-burst
  double failed_login_rate = 0;   // --failed-login-rate, per second per client address
  double failed_login_burst = 0;  // --failed-login-burst
  std::int64_t max_days = 0;
  std::int64_t threads = 0;
  std::int64_t cache_mib = 0;
};

Result<Limits> LimitsFromFlags(const Flags& flags) {
  auto rate = flags.GetRate("rate-limit", 100);
  auto burst = flags.GetRate("rate-burst", rate ? 2 * *rate : 0);
  auto failed_rate = flags.GetRate("failed-login-rate", kFailedLoginRate);
  auto failed_burst = flags.GetRate("failed-login-burst", kFailedLoginBurst);
  auto max_days = flags.GetInt("max-range-days", domain::kDefaultMaxRangeDays, 1, 100000);
  auto threads = flags.GetInt("threads", 0, 0, 1024);
  auto cache_mib = flags.GetInt("body-cache-mib", 64, 0, 1 << 20);
  for (const Error* e :
       {rate ? nullptr : &rate.error(), burst ? nullptr : &burst.error(), failed_rate ? nullptr : &failed_rate.error(),
        failed_burst ? nullptr : &failed_burst.error(), max_days ? nullptr : &max_days.error(),
        threads ? nullptr : &threads.error(), cache_mib ? nullptr : &cache_mib.error()}) {
    if (e != nullptr) return *e;
  }
  return Limits{*rate, *burst, *failed_rate, *failed_burst, *max_days, *threads, *cache_mib};
}

// --listen HOST:PORT (an IPv6 host in brackets), or --listen-tls's (`flag`), into host and port.
Status ParseListen(const std::string& listen, std::string& host, std::uint16_t& port_out,
                   std::string_view flag = "--listen") {
  const auto colon = listen.rfind(':');
  std::int64_t port = -1;
  if (colon != std::string::npos && colon > 0) {
    try {
      std::size_t used = 0;
      port = std::stoll(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (port < 0 || port > 65535) {
    return MakeError(ErrorCode::kInvalidData, std::string(flag) + " must be HOST:PORT, like 127.0.0.1:8080");
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  port_out = static_cast<std::uint16_t>(port);
  return {};
}

// --listen-tls, --tls-cert and --tls-key into `options`: all three or none. Without --listen,
// --listen-tls serves HTTPS instead of plain HTTP.
Status TlsOptionsFromFlags(const Flags& flags, http::ServerOptions& options) {
  const std::optional<std::string> listen = flags.Get("listen-tls");
  const std::optional<std::string> cert = flags.Get("tls-cert");
  const std::optional<std::string> key = flags.Get("tls-key");
  if (!listen) {
    if (cert || key) return MakeError(ErrorCode::kInvalidData, "--tls-cert and --tls-key need --listen-tls");
    return {};
  }
  if (!cert || !key || cert->empty() || key->empty()) {
    return MakeError(ErrorCode::kInvalidData, "--listen-tls needs --tls-cert FILE and --tls-key FILE");
  }
  if (Status parsed = ParseListen(*listen, options.tls_host, options.tls_port, "--listen-tls"); !parsed) return parsed;
  options.tls_cert = *cert;
  options.tls_key = *key;
  options.listen_plain = flags.Has("listen");
  return {};
}

// The server's own options from the flags, in the order costsd checks them.
Result<http::ServerOptions> ServerOptionsFromFlags(const Flags& flags, const Limits& limits) {
  http::ServerOptions options;
  if (Status listen = ParseListen(flags.Get("listen").value_or("127.0.0.1:8080"), options.host, options.port);
      !listen) {
    return listen.error();
  }
  if (Status tls = TlsOptionsFromFlags(flags, options); !tls) return tls.error();
  options.threads = static_cast<int>(limits.threads);
  options.body_cache_bytes = static_cast<std::size_t>(limits.cache_mib) << 20;
  auto proxies = http::TrustedProxies::Parse(flags.Get("trusted-proxies").value_or(""));
  if (!proxies) return proxies.error();
  options.trusted_proxies = std::move(*proxies);
  return options;
}

// What the store bounds in the server's options: the readiness timeout, and the connections
// (--max-connections and the others of connections.hpp) that `open_files` leaves room for.
Status BoundByStore(const Flags& flags, const StoreOptions& store_options, std::uint64_t open_files,
                    http::ServerOptions& options) {
  if (store_options.timeout_ms) {
    options.readiness_timeout =
        std::min(options.readiness_timeout, std::chrono::milliseconds(*store_options.timeout_ms));
  }
  return ConnectionOptionsFromFlags(flags, open_files, store_options.pool.value_or(8), options);
}

// GET /metrics (src/metrics/prometheus) needs: the route templates and the build's identity.
metrics::prometheus::BuildInfo BuildInfoOf(const std::string& db) {
  return {std::string(kVersion), std::string(kCommit), db.rfind("sqlite:", 0) == 0 ? "sqlite" : "postgresql"};
}

// --metrics-token and --metrics-listen.
struct MetricsOptions {
  std::string token;
  std::optional<http::ServerOptions> listen;  // a listener of its own; nullopt: /metrics on the API's
};

Result<MetricsOptions> MetricsOptionsFromFlags(const Flags& flags, const http::ServerOptions& api) {
  MetricsOptions options{flags.Get("metrics-token").value_or(""), std::nullopt};
  if (std::optional<std::string> listen = flags.Get("metrics-listen")) {
    options.listen = api;
    options.listen->listen_plain = true;
    options.listen->tls_cert.clear();  // plain HTTP only
    if (Status parsed = ParseListen(*listen, options.listen->host, options.listen->port, "--metrics-listen"); !parsed) {
      return parsed.error();
    }
  }
  return options;
}

// Runs the services on `store` behind the HTTP server until a signal stops it; returns the
// server's exit code.
int Serve(service::Store& unmetered, service::Clock& clock, const RateLimiters& limiters, const Limits& limits,
          const http::ServerOptions& server_options, const std::string& db, std::uint64_t open_files,
          const MetricsOptions& metrics_options) {
  // Redis is tried once now for the log; the adapter itself warns when it does not answer.
  if (limiters.check && limiters.check()) spdlog::info("rate limits are {}: Redis answers", limiters.description);
  metrics::prometheus::PrometheusMetrics metrics(http::RouteTemplates(), BuildInfoOf(db));
  MeteredStore store(unmetered, metrics);
  security::SodiumPasswordHasher sodium;
  MeteredHasher counted(sodium, metrics);
  // argon2id on at most half the cores at once, however many logins the hash pool runs.
  service::LimitedHasher hasher(counted,
                                static_cast<int>(std::clamp(std::thread::hardware_concurrency() / 2, 1u, 64u)));
  service::CostsService costs(store, clock, static_cast<int>(limits.max_days));
  service::AdminService admin(store, hasher, metrics);
  service::Authenticator auth(store, hasher, clock);
  service::SessionService sessions(store, auth, hasher, clock, SpdlogSink());
  http::Services services{costs, admin, auth, *limiters.per_principal, *limiters.failed_logins};
  services.sessions = &sessions;
  services.metrics = &metrics;
  services.metrics_text = [&metrics] { return metrics.Serialize(); };
  services.metrics_token = metrics_options.token;
  // /readyz: one primary-key read of the store (it fails while the database is unreachable; data
  // versions would not: they may come from the PostgreSQL store's cache).
  services.readiness = [&store]() -> Status {
    Result<std::optional<service::Organization>> org = store.FindOrganization("");
    if (!org) return std::move(org).error();
    return {};
  };
  // The web dashboard at / (web/README.md): the assets this binary embeds.
  const http::Dashboard dashboard(http::EmbeddedWebAssets());
  services.dashboard = &dashboard;
  // One stdout line per listener, plain first: tests and scripts read the ports from them.
  auto on_listening_tls = [&](std::uint16_t port) {
    std::printf("costsd listening on https://%s:%u\n", server_options.tls_host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);
    spdlog::info("listening on {}:{} (TLS, certificate {})", server_options.tls_host, port, server_options.tls_cert);
  };
  auto on_listening = [&](std::uint16_t port) {
    std::printf("costsd listening on http://%s:%u\n", server_options.host.c_str(), static_cast<unsigned>(port));
    std::fflush(stdout);
    spdlog::info(
        "listening on {}:{} (db {}, rate limit {}/s burst {}, {}; "
        "{} open files, at most {} connections, {} per address)",
        server_options.host, port, RedactDbUrl(db), limits.rate, limits.burst, limiters.description, open_files,
        server_options.max_connections, server_options.max_connections_per_address);
  };
  MetricsListener metrics_listener;
  if (metrics_options.listen) {
    if (!metrics_listener.Start(*metrics_options.listen, services)) return 1;
    services.metrics_text = nullptr;  // /metrics only there
  }
  const int code = http::RunServer(server_options, std::move(services), on_listening, on_listening_tls);
  if (code != 0 && metrics_options.listen) metrics_listener.Stop();
  return code;
}

}  // namespace

int CostsdMain(int argc, char** argv) {
  // Until the server answers SIGHUP (a TLS reload, or a log line), a `systemctl reload` during
  // start-up must not end the process.
  std::signal(SIGHUP, SIG_IGN);
  if (AsksFor(argc, argv, "--help", "-h")) {
    std::fputs(kCostsdUsage, stdout);
    return 0;
  }
  if (AsksFor(argc, argv, "--version", "-V")) {
    std::printf("%s\n", VersionLine("costsd").c_str());
    return 0;
  }
  const std::vector<Flags::Spec> specs = CostsdFlagSpecs();
  auto flags = Flags::Parse(argc, argv, 1, specs);
  if (!flags) return UsageError(flags.error().message);
  if (!flags->positionals().empty()) return UsageError("unexpected argument '" + flags->positionals()[0] + "'");
  auto limits = LimitsFromFlags(*flags);
  if (!limits) return UsageError(limits.error().message);
  SystemClock clock;
  auto limiters = MakeRateLimiters(clock, flags->Get("rate-limit-redis"), limits->rate, limits->burst,
                                   limits->failed_login_rate, limits->failed_login_burst);
  if (!limiters) return UsageError(limiters.error().message);
  auto server_options = ServerOptionsFromFlags(*flags, *limits);
  if (!server_options) return UsageError(server_options.error().message);
  auto store_options = StoreOptionsFromFlags(*flags);
  if (!store_options) return UsageError(store_options.error().message);
  const std::uint64_t open_files = RaiseOpenFileLimit();
  if (Status bound = BoundByStore(*flags, *store_options, open_files, *server_options); !bound) {
    return UsageError(bound.error().message);
  }
  auto metrics_options = MetricsOptionsFromFlags(*flags, *server_options);
  if (!metrics_options) return UsageError(metrics_options.error().message);
  if (flags->Has("print-config")) {
    std::fputs(FormatConfig(*flags, specs).c_str(), stdout);
    return 0;
  }
  if (Status logging =
          SetUpServerLogging(flags->Get("log-level").value_or("info"), flags->Get("log-format").value_or("text"));
      !logging) {
    return UsageError(logging.error().message);
  }
  store_options->log = SpdlogSink();

  const std::string db = flags->Get("db").value_or(std::string(kDefaultDb));
  auto store = OpenStore(db, *store_options);
  if (!store) {
    spdlog::critical("cannot open the store {}: {}", RedactDbUrl(db), store.error().message);
    return store.error().code == ErrorCode::kInvalidData ? 2 : 1;
  }
  const int code = Serve(**store, clock, *limiters, *limits, *server_options, db, open_files, *metrics_options);
  spdlog::info("stopped");
  return code;
}

}  // namespace costs::app
