#pragma once

// The data versions of the organizations this process reads, kept current without a round trip
// per read. Internal to src/store/postgres/.

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "store/postgres/postgres_store.hpp"

namespace costs::store::postgres::detail {

class Connection;

// The channel every version bump notifies (payload: the organization id, or "" for "any").
inline constexpr const char* kVersionChannel = "costs_data_version";

// A version read from the cache is as new as the database's, within bounds:
// - a write of this process invalidates its organizations when it commits (Changed);
// - every write notifies kVersionChannel after its commit; the watcher thread LISTENs on a
//   connection of its own and invalidates what the notifications name as they arrive;
// - every poll interval the watcher compares the cached versions with the database's and drops
//   those that changed, which catches what a notification missed (a writer that died between
//   its commit and its notification, an older costsd, SQL by hand): a change is seen within
//   about two intervals.
// Versions are cached only while the watcher listens. While it does not (it lost the database,
// or cannot connect), versions are read from the database, except when the caller cannot reach
// it either (a restart, a partition): then the versions held are served, as the data last seen.
// Once the watcher is back, it forgets them all (it may have missed notifications) before
// caching again. At most `capacity` organizations are held (one is dropped for a new one).
class VersionCache {
 public:
  // What Lookup found: the version, or the ticket with which to Insert one read from the database.
  struct Lookup {
    std::optional<std::int64_t> version;
    std::uint64_t generation = 0;
  };

  // Connects the watcher (when the database answers, versions are cached from the first read
  // on), then starts its thread.
  VersionCache(std::string url, PostgresOptions options, std::size_t capacity = 10000);
  // Stops and joins the watcher.
  ~VersionCache();
  VersionCache(const VersionCache&) = delete;
  VersionCache& operator=(const VersionCache&) = delete;

  // The version held for `org` if the watcher is listening, or if `serve_held` (the caller
  // cannot reach the database either); and the ticket for an Insert.
  Lookup Find(std::string_view org, bool serve_held);
  // Caches `version`, read from the database after `ticket` was taken, unless the organization's
  // version was invalidated since (or the watcher is not listening).
  void Insert(std::string_view org, std::int64_t version, const Lookup& ticket);
  // The organizations whose data this process has just committed a change to.
  void Changed(std::span<const std::string> orgs);

  // Whether the watcher is listening (for tests and the log).
  bool listening() const { return listening_.load(); }

 private:
  struct Entry {
    std::optional<std::int64_t> version;
    std::uint64_t generation = 0;
  };

  // A connection for the watcher (short timeouts; what it would log goes to last_error_), or null.
  std::unique_ptr<Connection> Connect();
  // LISTENs on `connection`, forgets every version (notifications may have been missed before),
  // and starts caching. false when the LISTEN failed.
  bool Listen(Connection& connection);
  // The watcher: watches while connected, reconnects every poll interval while not.
  void Run(std::unique_ptr<Connection> connection);
  // Waits for notifications and polls until the connection fails or the cache stops.
  void Watch(Connection& connection);
  // Invalidates what the notifications libpq has read name.
  void Drain(PGconn* conn);
  // Drops the versions of the cached organizations that differ from the database's; false when
  // the query failed.
  bool Poll(Connection& connection);
  // Invalidates one organization ("" : all).
  void Invalidate(std::string_view org);
  void InvalidateAll();  // REQUIRES: mu_ held
  // Waits until the socket `fd` (-1: none) is readable or the deadline; false when the cache
  // stops.
  bool Wait(int fd, std::chrono::steady_clock::time_point deadline);

  const std::string url_;
  const PostgresOptions options_;
  const std::size_t capacity_;

  // Looks organizations up by string_view, without a copy of the id (the request path).
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>()(id); }
  };

  std::shared_mutex mu_;  // shared for a Find that hits, exclusive for every change
  std::unordered_map<std::string, Entry, IdHash, std::equal_to<>> entries_;  // guarded by mu_
  std::uint64_t next_generation_ = 1;                                        // guarded by mu_
  std::atomic<bool> listening_{false};

  std::atomic<bool> stopping_{false};
  std::string last_error_;  // the watcher's (and the constructor's): its connections' last log line
  bool lost_ = false;       // it lost (or never had) the database; the watcher's (and the constructor's)
  int stop_fd_ = -1;        // an eventfd, readable once the cache stops
  std::thread watcher_;
};

}  // namespace costs::store::postgres::detail
