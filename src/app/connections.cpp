#include "app/connections.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

namespace costs::app {
namespace {

constexpr std::uint64_t kReservedFiles = 64;  // logs, the database's own files, redis, ...
constexpr std::int64_t kMinDefaultConnections = 16;

}  // namespace

std::uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? (std::uint64_t{1} << 20) : static_cast<std::uint64_t>(limit.rlim_cur);
}

std::vector<Flags::Spec> ConnectionFlagSpecs() {
  using K = Flags::Kind;
  return {{"max-connections", true, false, true, K::kInteger, "open files - 2 x db-pool - 64"},
          {"max-connections-per-address", true, false, true, K::kInteger, "256"},
          {"keep-alive-timeout", true, false, true, K::kInteger, "5"}};
}

Status ConnectionOptionsFromFlags(const Flags& flags, std::uint64_t open_files, int store_pool,
                                  http::ServerOptions& options) {
  const std::uint64_t spare = 2 * static_cast<std::uint64_t>(std::max(store_pool, 1)) + kReservedFiles;
  const std::int64_t fitting =
      open_files > spare ? static_cast<std::int64_t>(std::min<std::uint64_t>(open_files - spare, 1u << 24)) : 0;
  auto max_connections = flags.GetInt("max-connections", std::max(fitting, kMinDefaultConnections), 1, 1 << 24);
  if (!max_connections) return std::move(max_connections).error();
  auto per_address = flags.GetInt("max-connections-per-address", 256, 1, 1 << 24);
  if (!per_address) return std::move(per_address).error();
  auto keep_alive = flags.GetInt("keep-alive-timeout", 5, 1, 3600);
  if (!keep_alive) return std::move(keep_alive).error();
  options.max_connections = static_cast<std::size_t>(*max_connections);
  options.max_connections_per_address = static_cast<std::size_t>(*per_address);
  options.keep_alive_timeout = std::chrono::seconds(*keep_alive);
  return {};
}

}  // namespace costs::app
