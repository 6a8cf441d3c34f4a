// ReplaceDatabase (costsctl restore's last step) when the rename fails: the old database must
// stay whole, including what only its WAL held.

#include "store/sqlite/backup.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace costs::store::sqlite {
namespace {

namespace fs = std::filesystem;

void MustExec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
}

// A WAL database at `path` whose last transaction is only in its -wal file: the connection is
// closed without the checkpoint SQLite would otherwise run (as a process that died would leave it).
void WriteWithCommitInTheWal(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  MustExec(db, "PRAGMA journal_mode=WAL");
  MustExec(db, "CREATE TABLE t (x INTEGER)");
  MustExec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  MustExec(db, "PRAGMA wal_autocheckpoint=0");
  MustExec(db, "INSERT INTO t VALUES (1), (2), (3)");
  ASSERT_EQ(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr), SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(fs::exists(path + "-wal"));
  ASSERT_GT(fs::file_size(path + "-wal"), 0u);
}

std::int64_t RowsOf(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

dev_t DeviceOf(const std::string& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 ? st.st_dev : 0;
}

TEST(ReplaceDatabaseTest, AFailedRenameLeavesTheOldDatabaseWithWhatOnlyItsWalHeld) {
  // rename(2) across file systems fails (EXDEV): the fresh copy on tmpfs, the target on disk.
  const std::string disk_dir = fs::temp_directory_path() / ("backup-test-" + std::to_string(::getpid()));
  const std::string shm_dir = "/dev/shm/backup-test-" + std::to_string(::getpid());
  fs::create_directories(disk_dir);
  fs::create_directories(shm_dir);
  if (DeviceOf(disk_dir) == DeviceOf(shm_dir)) {
    fs::remove_all(disk_dir);
    fs::remove_all(shm_dir);
    GTEST_SKIP() << "/dev/shm and " << fs::temp_directory_path() << " are one file system here";
  }
  const std::string target = disk_dir + "/costs.db";
  const std::string fresh = shm_dir + "/fresh.db";
  WriteWithCommitInTheWal(target);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(fresh.c_str(), &db), SQLITE_OK);
    MustExec(db, "CREATE TABLE t (x INTEGER)");
    sqlite3_close(db);
  }

  Status replaced = ReplaceDatabase(fresh, target);

  ASSERT_FALSE(replaced);
  EXPECT_NE(replaced.error().message.find("cannot rename"), std::string::npos) << replaced.error().message;
  EXPECT_EQ(RowsOf(target), 3);  // the committed rows that were only in the WAL
  fs::remove_all(disk_dir);
  fs::remove_all(shm_dir);
}

}  // namespace
}  // namespace costs::store::sqlite
