#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

struct sqlite3;

#include "common/log.hpp"

namespace costs::store::sqlite {

// Tells, without a system call or an SQLite transaction, whether anything was committed to a
// WAL-mode database since an earlier look: by any connection of any process.
//
// Every commit in WAL mode rewrites the wal-index header at the start of the database's
// "-shm" file (its change counter, last frame and checksums; https://sqlite.org/walformat.html,
// "The WAL-Index Header"); readers find new commits by reading it. WalWatch reads that header
// through SQLite's own mapping of the wal-index for its connection (xShmMap; it never opens the
// "-shm" file itself, whose closing would drop the process's locks on it) and compares it. It keeps a connection of its
// own open for its lifetime, so the "-shm" file is never truncated under the mapping (SQLite truncates it only when a
// connection opens with no other connection open).
class WalWatch {
 public:
  // The 48-byte wal-index header as it stood at one moment.
  using Header = std::array<std::byte, 48>;

  // nullptr when the database at `path` is not in WAL mode or its wal-index cannot be mapped
  // (callers then read without the shortcut). Details go to `log` (stderr when empty).
  static std::unique_ptr<WalWatch> Open(const std::string& path, const LogSink& log = {});

  ~WalWatch();
  WalWatch(const WalWatch&) = delete;
  WalWatch& operator=(const WalWatch&) = delete;

  // The header now; nullopt while a writer is rewriting it (its two copies differ). Thread-safe.
  std::optional<Header> Read() const;

 private:
  WalWatch(sqlite3* db, const void* map) : db_(db), map_(map) {}

  sqlite3* db_;      // keeps the wal-index (and SQLite's mapping of it) alive
  const void* map_;  // the first region of the wal-index, as db_ maps it; only read
};

}  // namespace costs::store::sqlite
