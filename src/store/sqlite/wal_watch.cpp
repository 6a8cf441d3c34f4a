#include "store/sqlite/wal_watch.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace costs::store::sqlite {
namespace {

// The wal-index header is written twice, copy 0 at offset 0 and copy 1 right after it; a
// writer updates copy 1 first, then copy 0, so equal copies are a complete header.
constexpr std::size_t kHeaderBytes = std::tuple_size_v<WalWatch::Header>;
constexpr std::size_t kMapBytes = 4096;

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
  const std::string shm = path + "-shm";
  const int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kMapBytes)) {
    Log(log, LogLevel::kWarn,
        std::string("sqlite: wal watch: no usable wal-index: ") + (fd < 0 ? std::strerror(errno) : "too short"));
    if (fd >= 0) ::close(fd);
    sqlite3_close(db);
    return nullptr;
  }
  void* map = ::mmap(nullptr, kMapBytes, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping stays valid
  if (map == MAP_FAILED) {
    Log(log, LogLevel::kWarn, std::string("sqlite: wal watch: cannot map the wal-index: ") + std::strerror(errno));
    sqlite3_close(db);
    return nullptr;
  }
  return std::unique_ptr<WalWatch>(new WalWatch(db, map, kMapBytes));
}

WalWatch::~WalWatch() {
  ::munmap(const_cast<void*>(map_), size_);
  sqlite3_close(db_);
}

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
