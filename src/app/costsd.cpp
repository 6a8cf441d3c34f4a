#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "app/app.hpp"
#include "app/connections.hpp"
#include "app/options.hpp"
#include "app/rate_limits.hpp"
#include "app/wiring.hpp"
#include "http/server.hpp"
#include "security/sodium_password_hasher.hpp"
#include "service/auth.hpp"
#include "service/costs_service.hpp"
#include "service/limited_hasher.hpp"

namespace costs::app {
namespace {

constexpr const char* kCostsdUsage =
    "usage: costsd [--db URL] [--db-pool N] [--db-timeout-ms N] [--listen HOST:PORT]\n"
    "              [--rate-limit N] [--rate-burst N] [--max-range-days N] [--log-level L]\n"
    "              [--threads N] [--body-cache-mib N] [--trusted-proxies LIST]\n"
    "              [--rate-limit-redis redis://[:PASSWORD@]HOST[:PORT][/DB]]\n"
    "              [--max-connections N] [--max-connections-per-address N] [--keep-alive-timeout S]\n"
    "  --db URL            sqlite:PATH (default sqlite:var/costs.db) or postgresql://...  env COSTS_DB\n"
    "  --db-pool N         store connections (PostgreSQL default 8)           env COSTS_DB_POOL\n"
    "  --db-timeout-ms N   statement timeout (PostgreSQL default 10000)       env COSTS_DB_TIMEOUT_MS\n"
    "  --listen HOST:PORT  address to serve on (default 127.0.0.1:8080; port 0 = any)  env COSTS_LISTEN\n"
    "  --rate-limit N      requests per second per principal (default 100; 0 = off)  env COSTS_RATE_LIMIT\n"
    "  --rate-burst N      token bucket size (default 2 x rate-limit)         env COSTS_RATE_BURST\n"
    "  --rate-limit-redis URL  share the rate limits of all replicas in this Redis (default: each\n"
    "                      replica limits on its own; while Redis is down, too)  env COSTS_RATE_LIMIT_REDIS\n"
    "  --max-range-days N  longest from..to range (default 1096)             env COSTS_MAX_RANGE_DAYS\n"
    "  --log-level L       trace, debug, info, warn, error, off (default info) env COSTS_LOG_LEVEL\n"
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

// Failed logins allowed per client address: a burst of 10, then one every 2 seconds.
constexpr double kFailedLoginRate = 0.5;
constexpr double kFailedLoginBurst = 10;

int UsageError(const std::string& message) {
  std::fprintf(stderr, "costsd: %s\n%s", message.c_str(), kCostsdUsage);
  return 2;
}

}  // namespace

int CostsdMain(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
      std::fputs(kCostsdUsage, stdout);
      return 0;
    }
  }
  std::vector<Flags::Spec> specs = {{"db"},          {"listen"},    {"rate-limit"}, {"rate-burst"},
                                    {"max-range-days"}, {"log-level"}, {"threads"},    {"body-cache-mib"},
                                    {"trusted-proxies"}, {"rate-limit-redis"}};
  for (Flags::Spec& spec : StoreFlagSpecs()) specs.push_back(std::move(spec));
  for (Flags::Spec& spec : ConnectionFlagSpecs()) specs.push_back(std::move(spec));
  auto flags = Flags::Parse(argc, argv, 1, specs);
  if (!flags) return UsageError(flags.error().message);
  if (!flags->positionals().empty()) return UsageError("unexpected argument '" + flags->positionals()[0] + "'");

  auto rate = flags->GetRate("rate-limit", 100);
  auto burst = flags->GetRate("rate-burst", rate ? 2 * *rate : 0);
  auto max_days = flags->GetInt("max-range-days", domain::kDefaultMaxRangeDays, 1, 100000);
  auto threads = flags->GetInt("threads", 0, 0, 1024);
  auto cache_mib = flags->GetInt("body-cache-mib", 64, 0, 1 << 20);
  for (const Error* e : {rate ? nullptr : &rate.error(), burst ? nullptr : &burst.error(),
                         max_days ? nullptr : &max_days.error(), threads ? nullptr : &threads.error(),
                         cache_mib ? nullptr : &cache_mib.error()}) {
    if (e != nullptr) return UsageError(e->message);
  }
  SystemClock clock;
  auto limiters = MakeRateLimiters(clock, flags->Get("rate-limit-redis"), *rate, *burst, kFailedLoginRate,
                                   kFailedLoginBurst);
  if (!limiters) return UsageError(limiters.error().message);
  const std::string listen = flags->Get("listen").value_or("127.0.0.1:8080");
  const auto colon = listen.rfind(':');
  http::ServerOptions server_options;
  {
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
    if (port < 0 || port > 65535) return UsageError("--listen must be HOST:PORT, like 127.0.0.1:8080");
    server_options.host = listen.substr(0, colon);
    if (server_options.host.size() > 2 && server_options.host.front() == '[') {
      server_options.host = server_options.host.substr(1, server_options.host.size() - 2);
    }
    server_options.port = static_cast<std::uint16_t>(port);
    server_options.threads = static_cast<int>(*threads);
    server_options.body_cache_bytes = static_cast<std::size_t>(*cache_mib) << 20;
  }
  if (auto proxies = http::TrustedProxies::Parse(flags->Get("trusted-proxies").value_or("")); proxies) {
    server_options.trusted_proxies = std::move(*proxies);
  } else {
    return UsageError(proxies.error().message);
  }
  auto store_options = StoreOptionsFromFlags(*flags);
  if (!store_options) return UsageError(store_options.error().message);
  if (store_options->timeout_ms) {
    server_options.readiness_timeout =
        std::min(server_options.readiness_timeout, std::chrono::milliseconds(*store_options->timeout_ms));
  }
  const std::uint64_t open_files = RaiseOpenFileLimit();
  if (Status limits = ConnectionOptionsFromFlags(*flags, open_files, store_options->pool.value_or(8), server_options);
      !limits) {
    return UsageError(limits.error().message);
  }

  auto logger = spdlog::stderr_logger_mt("costsd");
  spdlog::set_default_logger(logger);
  const std::string level = flags->Get("log-level").value_or("info");
  const auto parsed_level = spdlog::level::from_str(level);
  if (parsed_level == spdlog::level::off && level != "off") {
    return UsageError("--log-level must be trace, debug, info, warn, error or off");
  }
  spdlog::set_level(parsed_level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);

  const std::string db = flags->Get("db").value_or(std::string(kDefaultDb));
  auto store = OpenStore(db, *store_options);
  if (!store) {
    spdlog::critical("cannot open the store {}: {}", RedactDbUrl(db), store.error().message);
    return store.error().code == ErrorCode::kInvalidData ? 2 : 1;
  }

  // Redis is tried once now for the log; the adapter itself warns when it does not answer.
  if (limiters->check && limiters->check()) spdlog::info("rate limits are {}: Redis answers", limiters->description);
  security::SodiumPasswordHasher sodium;
  // argon2id on at most half the cores at once, however many logins the hash pool runs.
  service::LimitedHasher hasher(sodium, static_cast<int>(std::clamp(std::thread::hardware_concurrency() / 2, 1u, 64u)));
  service::CostsService costs(**store, clock, static_cast<int>(*max_days));
  service::AdminService admin(**store, hasher);
  service::Authenticator auth(**store, hasher, clock);
  http::Services services{costs, admin, auth, *limiters->per_principal, *limiters->failed_logins};
  // /readyz: one primary-key read of the store (it fails while the database is unreachable; data
  // versions would not: they may come from the PostgreSQL store's cache).
  services.readiness = [&store = **store]() -> Status {
    Result<std::optional<service::Organization>> org = store.FindOrganization("");
    if (!org) return std::move(org).error();
    return {};
  };
  const int code = http::RunServer(server_options, std::move(services),
                                   [&](std::uint16_t port) {
                                     std::printf("costsd listening on http://%s:%u\n", server_options.host.c_str(),
                                                 static_cast<unsigned>(port));
                                     std::fflush(stdout);
                                     spdlog::info("listening on {}:{} (db {}, rate limit {}/s burst {}, {}; "
                                                  "{} open files, at most {} connections, {} per address)",
                                                  server_options.host, port, RedactDbUrl(db), *rate, *burst,
                                                  limiters->description, open_files,
                                                  server_options.max_connections,
                                                  server_options.max_connections_per_address);
                                   });
  spdlog::info("stopped");
  return code;
}

}  // namespace costs::app
