#include "store/postgres/version_cache.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <vector>

#include "store/postgres/connection.hpp"
#include "store/postgres/statements.hpp"

namespace costs::store::postgres::detail {

namespace {

using Clock = std::chrono::steady_clock;

// The watcher's own waits for the server are short, so that stopping never waits long.
constexpr int kWatcherTimeoutMs = 2000;
// Reconnection attempts back off from one poll interval to this.
constexpr int kMaxReconnectDelayMs = 5000;

}  // namespace

VersionCache::VersionCache(std::string url, PostgresOptions options, std::size_t capacity)
    : url_(std::move(url)), options_(std::move(options)), capacity_(std::max<std::size_t>(1, capacity)) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    Log(options_.log, LogLevel::kWarn, "postgres: no eventfd for the data version watch; versions are not cached");
    return;
  }
  // The first connection is made here, so that versions are cached from the first read on.
  std::unique_ptr<Connection> first = Connect();
  if (first != nullptr && !Listen(*first)) first.reset();
  watcher_ = std::thread([this, c = std::move(first)]() mutable { Run(std::move(c)); });
}

VersionCache::~VersionCache() {
  stopping_.store(true);
  if (watcher_.joinable()) {
    const std::uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    watcher_.join();
  }
  if (stop_fd_ >= 0) close(stop_fd_);
}

VersionCache::Lookup VersionCache::Find(std::string_view org, bool serve_held) {
  const bool trusted = listening_.load() || serve_held;
  {
    std::shared_lock lock(mu_);
    if (auto it = entries_.find(org); it != entries_.end()) {
      return Lookup{trusted ? it->second.version : std::nullopt, it->second.generation};
    }
  }
  std::lock_guard lock(mu_);
  auto it = entries_.find(org);
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) entries_.erase(entries_.begin());  // any one: it is read again if asked
    it = entries_.emplace(std::string(org), Entry{std::nullopt, next_generation_++}).first;
  }
  return Lookup{trusted ? it->second.version : std::nullopt, it->second.generation};
}

void VersionCache::Insert(std::string_view org, std::int64_t version, const Lookup& ticket) {
  if (!listening_.load()) return;
  std::lock_guard lock(mu_);
  auto it = entries_.find(org);
  if (it != entries_.end() && it->second.generation == ticket.generation) it->second.version = version;
}

void VersionCache::Changed(std::span<const std::string> orgs) {
  for (const std::string& org : orgs) Invalidate(org);
}

void VersionCache::Invalidate(std::string_view org) {
  std::lock_guard lock(mu_);
  if (org.empty()) {
    InvalidateAll();
    return;
  }
  auto it = entries_.find(org);
  if (it != entries_.end()) it->second = Entry{std::nullopt, next_generation_++};
}

void VersionCache::InvalidateAll() { entries_.clear(); }

std::unique_ptr<Connection> VersionCache::Connect() {
  PostgresOptions watcher = options_;
  watcher.statement_timeout_ms = std::min(watcher.statement_timeout_ms, kWatcherTimeoutMs);
  // It retries with back-off: Run logs the first failure (with the last reason) and the recovery.
  watcher.log = [this](LogLevel, std::string_view line) { last_error_ = line; };
  Result<std::unique_ptr<Connection>> connection = Connection::Open(url_, watcher);
  return connection ? std::move(*connection) : nullptr;
}

bool VersionCache::Listen(Connection& connection) {
  const std::string listen = std::string("LISTEN ") + kVersionChannel;
  if (options_.listen_for_versions && !connection.Query(listen.c_str(), "listen for data versions")) return false;
  {
    std::lock_guard lock(mu_);
    InvalidateAll();  // notifications may have been missed before now
  }
  listening_.store(true);
  if (lost_) Log(options_.log, LogLevel::kInfo, "postgres: the data version watch is back");
  lost_ = false;
  return true;
}

void VersionCache::Run(std::unique_ptr<Connection> connection) {
  int delay_ms = options_.version_poll_ms;
  while (!stopping_.load()) {
    if (connection != nullptr) {
      Watch(*connection);
      delay_ms = options_.version_poll_ms;
    }
    connection.reset();
    if (stopping_.load()) return;
    if (listening_.exchange(false) || !lost_) {
      Log(options_.log, LogLevel::kWarn,
          "postgres: the data version watch lost the database (" + (last_error_.empty() ? "no answer" : last_error_) +
              "); data versions are read from the database, or served as last seen while it cannot be reached");
    }
    lost_ = true;
    if (!Wait(-1, Clock::now() + std::chrono::milliseconds(delay_ms))) return;
    delay_ms = std::min(2 * delay_ms, std::max(kMaxReconnectDelayMs, options_.version_poll_ms));
    last_error_.clear();
    connection = Connect();
    if (connection != nullptr && !Listen(*connection)) connection.reset();
  }
}

void VersionCache::Watch(Connection& connection) {
  PGconn* conn = connection.raw();
  Clock::time_point next_poll = Clock::now() + std::chrono::milliseconds(options_.version_poll_ms);
  while (!stopping_.load()) {
    if (!Wait(PQsocket(conn), next_poll)) return;
    if (PQconsumeInput(conn) == 0) return;
    Drain(conn);
    if (Clock::now() < next_poll) continue;
    if (!Poll(connection)) return;
    Drain(conn);  // what arrived during the poll's query
    next_poll = Clock::now() + std::chrono::milliseconds(options_.version_poll_ms);
  }
}

void VersionCache::Drain(PGconn* conn) {
  while (PGnotify* n = PQnotifies(conn)) {
    Invalidate(n->extra != nullptr ? std::string_view(n->extra) : std::string_view());
    PQfreemem(n);
  }
}

bool VersionCache::Poll(Connection& connection) {
  std::map<std::string, std::int64_t> cached;
  {
    std::lock_guard lock(mu_);
    for (const auto& [org, entry] : entries_) {
      if (entry.version) cached.emplace(org, *entry.version);
    }
  }
  if (cached.empty()) return true;
  ArrayParam orgs;
  for (const auto& [org, version] : cached) orgs.Text(org);
  Result<Rows> rows = connection.Exec(kSelectOrgVersions, Params().Array(std::move(orgs)));
  if (!rows) return false;
  std::map<std::string_view, std::int64_t> stored;
  for (int i = 0; i < rows->size(); ++i) stored.emplace(rows->Text(i, 0), rows->Int(i, 1));
  for (const auto& [org, version] : cached) {
    auto it = stored.find(org);
    if ((it == stored.end() ? 0 : it->second) != version) Invalidate(org);
  }
  return true;
}

bool VersionCache::Wait(int fd, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
    const int rc = poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(std::clamp<long long>(left, 0, 1 << 30)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc > 0 && (fds[0].revents & POLLIN) != 0) return false;
    return true;
  }
}

}  // namespace costs::store::postgres::detail
