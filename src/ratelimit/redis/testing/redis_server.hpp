#pragma once

// A throwaway redis-server for tests: its own temp dir, a free port on 127.0.0.1, no
// persistence, stopped by its PID. Tests only.

#include <sys/types.h>

#include <string>
#include <vector>

namespace costs::ratelimit::redis::testing {

class RedisServer {
 public:
  // `extra_args` are appended to the command line (like {"--requirepass", "secret"}).
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();  // Stop(), and the temp dir removed
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server ($COSTS_REDIS_SERVER, else redis-server on PATH) and waits until it
  // answers PING. Picks a free port the first time and keeps it across restarts. Returns an
  // empty string on success, else why it could not (redis-server missing, did not come up).
  std::string Start();
  // SIGTERM by PID, waits (SIGKILL after 5 s). Data is gone: nothing is persisted.
  void Stop();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url(const std::string& userinfo = "", int db = 0) const;
  // The tail of redis-server's log, for failure messages.
  std::string LogTail() const;

 private:
  std::string TryStart();

  std::vector<std::string> extra_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A free TCP port on 127.0.0.1 right now (bound and released).
int FreeLoopbackPort();

}  // namespace costs::ratelimit::redis::testing
