#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace costs::store::sqlite {

// Online copies of a costs SQLite database file (costsctl backup and restore), through SQLite's
// backup API. Every failure is kStoreFailed with a message fit for users, or kInvalidData for a
// file that is not a costs database of a schema this build knows.

struct CopyReport {
  int schema_version = 0;  // PRAGMA user_version of the copy
  std::int64_t pages = 0;  // database pages copied
  std::int64_t bytes = 0;  // pages x page size
  std::int64_t steps = 0;  // sqlite3_backup_step calls
};

// Pages per sqlite3_backup_step: the source's write lock is never taken (the copy reads one
// snapshot, below), so this only bounds the time between steps of the destination's transaction.
inline constexpr int kPagesPerStep = 256;

// Copies the database at `source` (opened read-only; never created) into `dest`, a new file:
// kInvalidData when `dest` exists (or appears meanwhile; nothing is overwritten). The copy is one
// consistent snapshot: it holds a read transaction on the source for the whole copy, so in WAL mode
// writers (costsd ingesting, other costsctl) go on and nothing they commit after the start is in
// the copy, every batch committed before it is. `source` must hold a costs schema this build
// knows (1..kSchemaVersion; kInvalidData otherwise). The new file is fsync'd, and its directory.
Result<CopyReport> CopyDatabase(const std::string& source, const std::string& dest, int pages_per_step = kPagesPerStep);

// The schema version of the costs database at `path` (opened read-only): kInvalidData when it is
// not an SQLite database, holds no costs schema, or one newer than this build's.
Result<int> CostsSchemaVersion(const std::string& path);

// The id of another process that holds the SQLite database at `path` open (a connection with a
// lock on the file, or in WAL mode on its -shm file: every open costsd and costsctl), or nullopt.
// Best effort: a process that opens the file after the call is not seen.
std::optional<pid_t> ProcessUsing(const std::string& path);

// Replaces the database at `target` with the file `fresh` (the same directory): `fresh` is
// switched to the rollback journal (no -wal file of its own) and fsync'd; `target`'s WAL is
// checkpointed into it (never deleted: when the rename fails, `target` is still whole); then
// `fresh` is renamed over `target` (atomic), `target`'s -shm and -journal files are removed and
// the directory fsync'd.
// REQUIRES: no process uses `target` (ProcessUsing) and `fresh` is closed by every connection.
Status ReplaceDatabase(const std::string& fresh, const std::string& target);

// Removes `path` and its -wal, -shm and -journal files, ignoring those missing.
void RemoveDatabaseFiles(const std::string& path);

}  // namespace costs::store::sqlite
