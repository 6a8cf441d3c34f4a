#include "store/sqlite/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

Error Failed(const std::string& message) { return MakeError(ErrorCode::kStoreFailed, message); }
Error Refused(const std::string& message) { return MakeError(ErrorCode::kInvalidData, message); }

Result<Db> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return Failed("cannot open " + path + ": " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 10'000);
  return db;
}

Status Exec(sqlite3* db, const std::string& sql, const std::string& path) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return {};
  const std::string text = message != nullptr ? message : sqlite3_errmsg(db);
  sqlite3_free(message);
  return Failed(path + ": " + text);
}

// One integer from `sql`, or the error of `path`.
Result<std::int64_t> QueryInt(sqlite3* db, const char* sql, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    const int code = sqlite3_errcode(db);
    const std::string text = path + ": " + sqlite3_errmsg(db);
    return code == SQLITE_NOTADB ? Refused(path + " is not an SQLite database") : Failed(text);
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw, sqlite3_finalize);
  if (sqlite3_step(raw) != SQLITE_ROW) return Failed(path + ": " + sqlite3_errmsg(db));
  return static_cast<std::int64_t>(sqlite3_column_int64(raw, 0));
}

// The costs schema version of the open database (read in its current transaction, if any).
Result<int> SchemaVersionOf(sqlite3* db, const std::string& path) {
  auto tables = QueryInt(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'org_versions'", path);
  if (!tables) return std::move(tables).error();
  auto version = QueryInt(db, "PRAGMA user_version", path);
  if (!version) return std::move(version).error();
  if (*tables == 0 || *version < 1) return Refused(path + " is not a costs database (no costs schema in it)");
  if (*version > SqliteStore::kSchemaVersion) {
    return Refused(path + " has schema " + std::to_string(*version) + ", newer than this build's (" +
                   std::to_string(SqliteStore::kSchemaVersion) + ")");
  }
  return static_cast<int>(*version);
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Failed("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return Failed("cannot fsync " + path + ": " + std::strerror(saved));
  return {};
}

std::string DirectoryOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Steps `backup` to its end and counts the pages. The busy timeout of both connections has waited
// for any lock before a step returns SQLITE_BUSY or SQLITE_LOCKED: those fail the copy.
Status StepToEnd(sqlite3_backup* backup, int pages_per_step, CopyReport& report) {
  for (;;) {
    const int rc = sqlite3_backup_step(backup, pages_per_step);
    ++report.steps;
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) continue;
    return Failed(std::string("the copy failed: ") + sqlite3_errstr(rc));
  }
  report.pages = sqlite3_backup_pagecount(backup);
  return {};
}

// Copies the snapshot of `source` that its open read transaction sees into the new file `partial`.
Status CopyInto(sqlite3* source, const std::string& partial, int pages_per_step, CopyReport& report) {
  auto dest = OpenDb(partial, SQLITE_OPEN_READWRITE);
  if (!dest) return std::move(dest).error();
  if (Status sync = Exec(dest->get(), "PRAGMA synchronous=FULL", partial); !sync) return sync;
  sqlite3_backup* backup = sqlite3_backup_init(dest->get(), "main", source, "main");
  if (backup == nullptr) return Failed("cannot start the copy: " + std::string(sqlite3_errmsg(dest->get())));
  Status stepped = StepToEnd(backup, pages_per_step, report);
  if (sqlite3_backup_finish(backup) != SQLITE_OK && stepped) {
    stepped = Failed("the copy failed: " + std::string(sqlite3_errmsg(dest->get())));
  }
  if (!stepped) return stepped;
  auto page_size = QueryInt(dest->get(), "PRAGMA page_size", partial);
  if (!page_size) return std::move(page_size).error();
  report.bytes = report.pages * *page_size;
  return {};
}

}  // namespace

Result<int> CostsSchemaVersion(const std::string& path) {
  if (!Exists(path)) return Refused(path + " does not exist");
  auto db = OpenDb(path, SQLITE_OPEN_READONLY);
  if (!db) return std::move(db).error();
  return SchemaVersionOf(db->get(), path);
}

Result<CopyReport> CopyDatabase(const std::string& source, const std::string& dest, int pages_per_step) {
  if (Exists(dest)) return Refused(dest + " exists: a copy never overwrites a file");
  if (!Exists(source)) return Refused(source + " does not exist");
  auto db = OpenDb(source, SQLITE_OPEN_READONLY);
  if (!db) return std::move(db).error();
  // The snapshot: a read transaction held until the copy ends (backup steps use it).
  if (Status begin = Exec(db->get(), "BEGIN", source); !begin) return begin.error();
  CopyReport report;
  auto version = SchemaVersionOf(db->get(), source);
  if (!version) return std::move(version).error();
  report.schema_version = *version;
  const std::string partial = dest + ".partial-" + std::to_string(::getpid());
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return Failed("cannot create " + partial + ": " + std::strerror(errno));
  ::close(fd);
  Status copied = CopyInto(db->get(), partial, pages_per_step, report);
  if (copied) copied = FsyncPath(partial, O_RDONLY);
  if (copied && ::link(partial.c_str(), dest.c_str()) != 0) {
    copied = errno == EEXIST ? Status(Refused(dest + " exists: a copy never overwrites a file"))
                             : Status(Failed("cannot create " + dest + ": " + std::strerror(errno)));
  }
  RemoveDatabaseFiles(partial);
  if (!copied) return copied.error();
  if (Status synced = FsyncPath(DirectoryOf(dest), O_RDONLY | O_DIRECTORY); !synced) return synced.error();
  return report;
}

std::optional<pid_t> ProcessUsing(const std::string& path) {
  // The lock bytes of SQLite's unix VFS: PENDING..SHARED on the database file (0x40000000, 512
  // bytes), and on the -shm file the WAL locks and the "dead man switch" byte (120..136) that
  // every connection in WAL mode holds a read lock on while it is open.
  struct Range {
    std::string file;
    off_t start;
    off_t length;
  };
  for (const Range& range : {Range{path, 0x40000000, 512}, Range{path + "-shm", 120, 16}}) {
    const int fd = ::open(range.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = range.start;
    probe.l_len = range.length;
    const int rc = ::fcntl(fd, F_GETLK, &probe);
    ::close(fd);
    if (rc == 0 && probe.l_type != F_UNLCK) return probe.l_pid;
  }
  return std::nullopt;
}

Status ReplaceDatabase(const std::string& fresh, const std::string& target) {
  {
    auto db = OpenDb(fresh, SQLITE_OPEN_READWRITE);
    if (!db) return std::move(db).error();
    if (Status mode = Exec(db->get(), "PRAGMA journal_mode=DELETE", fresh); !mode) return mode;
  }
  if (Exists(fresh + "-wal")) return Failed(fresh + "-wal is still there: another process has " + fresh + " open");
  if (Status synced = FsyncPath(fresh, O_RDONLY); !synced) return synced;
  // The target's WAL is checkpointed into it (and removed by SQLite) first, never deleted: if
  // the rename below fails, or the process dies before it, the old database is still whole.
  if (Exists(target)) {
    auto db = OpenDb(target, SQLITE_OPEN_READWRITE);
    if (!db) return std::move(db).error();
    if (Status mode = Exec(db->get(), "PRAGMA journal_mode=DELETE", target); !mode) return mode;
  }
  if (Exists(target + "-wal")) return Failed(target + "-wal is still there: another process has " + target + " open");
  if (::rename(fresh.c_str(), target.c_str()) != 0) {
    return Failed("cannot rename " + fresh + " to " + target + ": " + std::strerror(errno));
  }
  for (const char* suffix : {"-shm", "-journal"}) {  // left by no process that has it open (checked above)
    const std::string file = target + suffix;
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
      return Failed("cannot remove " + file + ": " + std::strerror(errno));
    }
  }
  return FsyncPath(DirectoryOf(target), O_RDONLY | O_DIRECTORY);
}

void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

}  // namespace costs::store::sqlite
