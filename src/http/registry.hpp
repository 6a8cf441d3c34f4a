#pragma once

// What the listeners, the sessions (session.hpp, plain and TLS) and the stop logic of the HTTP
// server share. Beast-free; included by the server's TUs only.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "http/connection_limits.hpp"
#include "http/pools.hpp"
#include "http/server.hpp"

namespace costs::http {

// One connection, whatever its stream (plain or TLS): what the stop logic asks of it.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Thread-safe: asks the session to close once the request in flight (if any) is answered.
  virtual void Shutdown() = 0;
};

// What the listener, the sessions and the stop logic share. Holds no I/O objects, so sessions
// may outlive the io_context's run (they are destroyed with its queued handlers).
class Registry {
 public:
  Registry(Services services, const ServerOptions& options, Pools& pools)
      : services_(services),
        options_(options),
        pools_(pools),
        limits_(options.max_connections, options.max_connections_per_address, options.trusted_proxies) {}

  Pools& pools() { return pools_; }

  const Services& services() const { return services_; }
  const TrustedProxies& trusted_proxies() const { return options_.trusted_proxies; }
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  int live_sessions() const { return limits_.live(); }

  // The connection caps: Reserve before a session is made, Release when it is destroyed.
  ConnectionLimits& limits() { return limits_; }

  std::uint64_t Add(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(mu_);
    const std::uint64_t id = ++next_id_;
    sessions_.emplace(id, session);
    return id;
  }
  void Remove(std::uint64_t id) {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
  }

  // Marks the server as stopping and returns the sessions alive now. Sessions added after
  // this see stopping() and close at once.
  std::vector<std::shared_ptr<SessionBase>> BeginStop() {
    stopping_.store(true);
    std::vector<std::shared_ptr<SessionBase>> alive;
    std::lock_guard lock(mu_);
    for (const auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) alive.push_back(std::move(s));
    }
    return alive;
  }

 private:
  const Services services_;
  const ServerOptions options_;
  Pools& pools_;
  ConnectionLimits limits_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::uint64_t next_id_ = 0;                                               // GUARDED_BY(mu_)
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;  // GUARDED_BY(mu_)
};

inline std::int64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace costs::http
