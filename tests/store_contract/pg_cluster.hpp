#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.hpp"

namespace costs::testing {

// A throwaway PostgreSQL cluster for tests: initdb into a fresh temp dir, postgres on a free
// 127.0.0.1 port with its unix socket in that dir (fsync off: nothing here must survive a
// crash), stopped and removed by Stop() or the destructor. When the process runs as root the
// server runs as the `postgres` OS user (initdb refuses root). The server gets the parent-death
// signal, so it goes away even when the test binary crashes.
//
// Binaries: $COSTS_PG_BIN if set, else the newest /usr/lib/postgresql/*/bin (Debian's
// `postgresql` package). Not thread-safe.
// An OS user to run the server as (when enabled).
struct RunAs {
  bool enabled = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

class PgCluster {
 public:
  PgCluster() = default;
  ~PgCluster() { Stop(); }
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Starts the cluster and creates database `database`. kStoreFailed with a message saying what
  // is missing (binaries, the postgres user) or what failed (the log's path is in it).
  Status Start(const std::string& database);
  // Fast shutdown by PID, waits for it, removes the temp dir. Idempotent.
  void Stop();

  // Stops the server only (fast shutdown), keeping its data; StartServer() starts it again on
  // the same port (an outage and a recovery, for tests). REQUIRES: Start() succeeded.
  void StopServer();
  Status StartServer();

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DATABASE
  std::string Url(const std::string& database) const;

 private:
  std::string bin_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  RunAs user_;
};

}  // namespace costs::testing
