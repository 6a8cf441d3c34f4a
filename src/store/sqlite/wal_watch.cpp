#include "store/sqlite/wal_watch.hpp"

#include <sqlite3.h>

#include <atomic>
#include <cstring>

namespace costs::store::sqlite {
namespace {

// The wal-index header is written twice, copy 0 at offset 0 and copy 1 right after it; a
// writer updates copy 1 first, then copy 0, so equal copies are a complete header.
constexpr std::size_t kHeaderBytes = std::tuple_size_v<WalWatch::Header>;
// The size of a wal-index region, as SQLite maps them (sqlite3.c: WALINDEX_PGSZ).
constexpr int kRegionBytes = 32768;

}  // namespace

std::unique_ptr<WalWatch> WalWatch::Open(const std::string& path, const LogSink& log) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    Log(log, LogLevel::kWarn,
        std::string("sqlite: wal watch: cannot open the database: ") + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return nullptr;
  }
  // Reading the journal mode also builds the wal-index if this is its first reader.
  sqlite3_stmt* stmt = nullptr;
  bool wal = false;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    wal = mode != nullptr && std::strcmp(mode, "wal") == 0;
  }
  sqlite3_finalize(stmt);
  if (!wal) {
    sqlite3_close(db);
    return nullptr;
  }
  // The first region of the wal-index as SQLite itself maps it for this connection (valid until
  // it closes). Never open the -shm file here: closing a second descriptor of it would drop every
  // POSIX lock this process holds on it (SQLite's included), and another process would then take
  // the wal-index for unused and rebuild it under our connections (SQLITE_PROTOCOL, failed commits).
  sqlite3_file* file = nullptr;
  volatile void* region = nullptr;
  const bool mapped = sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
                      file != nullptr && file->pMethods != nullptr && file->pMethods->iVersion >= 2 &&
                      file->pMethods->xShmMap != nullptr &&
                      file->pMethods->xShmMap(file, 0, kRegionBytes, 0, &region) == SQLITE_OK && region != nullptr;
  if (!mapped) {
    Log(log, LogLevel::kWarn, "sqlite: wal watch: no usable wal-index");
    sqlite3_close(db);
    return nullptr;
  }
  const void* map = const_cast<const void*>(region);
  return std::unique_ptr<WalWatch>(new WalWatch(db, map));
}

WalWatch::~WalWatch() { sqlite3_close(db_); }

std::optional<WalWatch::Header> WalWatch::Read() const {
  Header first;
  Header second;
  const auto* bytes = static_cast<const std::byte*>(map_);
  // As SQLite's readers do: copy 0, a barrier, copy 1; a torn read shows as a difference.
  std::memcpy(first.data(), bytes, kHeaderBytes);
  std::atomic_thread_fence(std::memory_order_acquire);
  std::memcpy(second.data(), bytes + kHeaderBytes, kHeaderBytes);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (first != second) return std::nullopt;
  return first;
}

}  // namespace costs::store::sqlite
