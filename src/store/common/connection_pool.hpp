#pragma once

// One connection pool for every Store adapter that keeps connections (SQLite, PostgreSQL).
//
// Acquire() lends an idle connection, opens a new one while fewer than `max_connections` are
// open, else waits up to `wait` for one to come back and then fails with kStoreFailed and
// `busy_message` (the detail logged). A Lease gives the connection back when it goes out of
// scope; a connection whose broken() is true is closed instead, and with
// `close_idle_on_broken` every idle connection too (a server that restarted broke them all:
// better open new ones on demand than fail one call on each).
//
// Thread-safe. REQUIRES: every Lease ends before the pool does. `Connection` has
// `bool broken() const`.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"

namespace costs::store {

template <typename Connection>
class ConnectionPool {
 public:
  struct Options {
    int max_connections = 8;               // at least 1
    std::chrono::milliseconds wait{5000};  // for a connection to come back
    bool close_idle_on_broken = false;
    std::string name;          // the adapter, the prefix of its log lines ("sqlite")
    std::string busy_message;  // the user-facing message when no connection came back in time
    LogSink log;
  };
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;

  // A borrowed connection, given back to its pool on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_ != nullptr) pool_->Release(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  ConnectionPool(Options options, Opener open) : options_(std::move(options)), opener_(std::move(open)) {
    options_.max_connections = std::max(1, options_.max_connections);
  }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Adds a connection opened elsewhere (the one an adapter opens to check it can) as idle.
  void Adopt(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(connection));
    ++open_;
  }

  Result<Lease> Acquire() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::max(options_.wait, std::chrono::milliseconds(0)),
                      [&] { return !idle_.empty() || open_ < options_.max_connections; })) {
      Log(options_.log, LogLevel::kError,
          options_.name + ": no pooled connection became free within " + std::to_string(options_.wait.count()) + " ms");
      return MakeError(ErrorCode::kStoreFailed, options_.busy_message);
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_;
    lock.unlock();
    Result<std::unique_ptr<Connection>> opened = opener_();
    if (!opened) {
      lock.lock();
      --open_;
      lock.unlock();
      cv_.notify_one();
      return std::move(opened).error();
    }
    return Lease(this, std::move(*opened));
  }

  // Connections open now (idle or lent).
  int open_connections() const {
    std::lock_guard lock(mu_);
    return open_;
  }

 private:
  void Release(std::unique_ptr<Connection> connection) {
    std::vector<std::unique_ptr<Connection>> closing;
    const bool broken = connection->broken();
    {
      std::lock_guard lock(mu_);
      if (!broken) {
        idle_.push_back(std::move(connection));
      } else {
        if (options_.close_idle_on_broken) closing = std::exchange(idle_, {});
        closing.push_back(std::move(connection));
        open_ -= static_cast<int>(closing.size());
      }
    }
    const bool several_closed = closing.size() > 1;
    closing.clear();  // closed outside the lock
    if (several_closed) {
      cv_.notify_all();
    } else {
      cv_.notify_one();
    }
  }

  Options options_;
  const Opener opener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_ = 0;                                   // guarded by mu_
};

}  // namespace costs::store
