#pragma once

// One SQLite connection and the helpers every query goes through, so that a caller sees its SQL
// and its steps, not the error checks: Run (no rows), Exists, QueryOne<T> (one value or none),
// ForEachRow and Collect (every row), Query (a bound statement to step by hand), and
// Transaction. Every failure is logged through SqliteOptions::log as "sqlite: <what> failed:
// <detail>" and returned as kStoreFailed with a message fit for users.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace costs::store::sqlite::detail {

inline constexpr const char* kFailedMessage = "the cost store failed";
inline constexpr const char* kOpenFailedMessage = "the cost store could not be opened";
inline constexpr const char* kBusyMessage = "the cost store is busy; try again";

// Logs "sqlite: <detail>" and returns kStoreFailed (stored data that is not what this store
// writes, an upgrade that would lose data).
Error StoreFailed(const LogSink& log, std::string_view detail);

// Argument wrappers for the helpers: a blob (text binds as TEXT), SQL NULL.
struct AsBlob {
  std::string_view bytes;
};
struct Null {};

// Result<T> holds T; RowValue<F> is what a row callback yields, unwrapped from Result.
template <typename T>
struct Unwrapped {
  using type = T;  // NOLINT(readability-identifier-naming): the standard traits' name
};
template <typename T>
struct Unwrapped<Result<T>> {
  using type = T;  // NOLINT(readability-identifier-naming): the standard traits' name
};

class Connection {
 public:
  // A cached prepared statement in use; reset and unbound when it goes out of scope.
  // Text is bound without copying: REQUIRES the bound text outlive the statement's use.
  class Stmt {
   public:
    Stmt(Connection* connection, sqlite3_stmt* stmt, const char* what)
        : connection_(connection), stmt_(stmt), what_(what) {}
    Stmt(Stmt&& other) noexcept
        : connection_(other.connection_),
          stmt_(std::exchange(other.stmt_, nullptr)),
          what_(other.what_),
          bind_rc_(other.bind_rc_) {}
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt();

    void Bind(int index, std::int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
    void Bind(int index, int value) { Bind(index, std::int64_t{value}); }
    void Bind(int index, bool value) = delete;  // bind 0 or 1 explicitly
    void Bind(int index, std::string_view text);
    void Bind(int index, const std::string& text) { Bind(index, std::string_view(text)); }
    void Bind(int index, const char* text) = delete;  // ambiguous; use std::string_view
    void Bind(int index, AsBlob blob);
    void Bind(int index, Null) { Check(sqlite3_bind_null(stmt_, index)); }
    template <typename T>
    void Bind(int index, const std::optional<T>& value) {
      if (value) {
        Bind(index, *value);
      } else {
        Bind(index, Null{});
      }
    }
    // Binds `args` to ?1, ?2, ...
    template <typename... Args>
    void BindAll(const Args&... args) {
      int index = 0;
      (Bind(++index, args), ...);
    }

    // true: a row is ready; false: done. kStoreFailed (detail logged) on failure.
    Result<bool> Step();
    // Steps a statement that returns no rows.
    Status Run();
    // Steps to the end, calling on_row(const Stmt&) -> void or Status per row (an error stops).
    template <typename OnRow>
    Status ForEach(OnRow&& on_row) {
      for (;;) {
        Result<bool> row = Step();
        if (!row) return std::move(row).error();
        if (!*row) return {};
        if constexpr (std::is_void_v<decltype(on_row(*this))>) {
          on_row(*this);
        } else if (Status s = on_row(*this); !s) {
          return s;
        }
      }
    }

    std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::string_view Text(int col) const;
    std::string_view Blob(int col) const;

   private:
    void Check(int rc) {
      if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    }

    Connection* connection_;
    sqlite3_stmt* stmt_;
    const char* what_;
    int bind_rc_ = SQLITE_OK;
  };

  // A blob of one row, read a range at a time (incremental blob I/O: only the pages of each
  // range are read). Valid while the row is unchanged, within the transaction that opened it.
  class BlobReader {
   public:
    BlobReader(BlobReader&& other) noexcept : c_(other.c_), blob_(std::exchange(other.blob_, nullptr)) {}
    BlobReader(const BlobReader&) = delete;
    BlobReader& operator=(const BlobReader&) = delete;
    BlobReader& operator=(BlobReader&&) = delete;
    ~BlobReader();
    std::size_t size() const { return static_cast<std::size_t>(sqlite3_blob_bytes(blob_)); }
    // Bytes [offset, offset + out.size()). REQUIRES: within size().
    Status Read(std::size_t offset, std::span<char> out);

   private:
    friend class Connection;
    BlobReader(Connection* c, sqlite3_blob* blob) : c_(c), blob_(blob) {}
    Connection* c_;
    sqlite3_blob* blob_;
  };

  // Opens and configures a connection (WAL, synchronous=FULL, foreign keys, busy timeout).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const SqliteOptions& options);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for `sql` (a string with static storage: the cache is keyed by its
  // address), prepared on first use.
  Result<Stmt> Prepare(const char* sql, const char* what);

  // `sql` prepared with `args` bound. REQUIRES: bound text outlives the statement's use (no
  // temporary std::string).
  template <typename... Args>
  Result<Stmt> Query(const char* sql, const char* what, Args&&... args) {
    static_assert(((!std::is_same_v<std::remove_cvref_t<Args>, std::string> || std::is_lvalue_reference_v<Args>)&&...),
                  "a temporary std::string would dangle: bind a named string");
    Result<Stmt> stmt = Prepare(sql, what);
    if (stmt) stmt->BindAll(args...);
    return stmt;
  }
  // Runs `sql` (no rows) with `args` bound.
  template <typename... Args>
  Status Run(const char* sql, const char* what, const Args&... args) {
    Result<Stmt> stmt = Prepare(sql, what);
    if (!stmt) return std::move(stmt).error();
    stmt->BindAll(args...);
    return stmt->Run();
  }
  // Whether `sql` with `args` returns a row.
  template <typename... Args>
  Result<bool> Exists(const char* sql, const char* what, const Args&... args) {
    Result<Stmt> stmt = Prepare(sql, what);
    if (!stmt) return std::move(stmt).error();
    stmt->BindAll(args...);
    return stmt->Step();
  }
  // Column 0 of the first row (std::int64_t, or std::string for TEXT or BLOB bytes), nullopt
  // when there is none.
  template <typename T, typename... Args>
  Result<std::optional<T>> QueryOne(const char* sql, const char* what, const Args&... args) {
    Result<Stmt> stmt = Prepare(sql, what);
    if (!stmt) return std::move(stmt).error();
    stmt->BindAll(args...);
    Result<bool> row = stmt->Step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<T>();
    if constexpr (std::is_same_v<T, std::string>) {
      return std::optional<T>(std::string(stmt->Blob(0)));  // the bytes of a TEXT or a BLOB
    } else {
      return std::optional<T>(stmt->Int(0));
    }
  }
  // Calls on_row(const Stmt&) -> void or Status for every row of `sql` with `args`.
  template <typename OnRow, typename... Args>
  Status ForEachRow(const char* sql, const char* what, OnRow&& on_row, const Args&... args) {
    Result<Stmt> stmt = Prepare(sql, what);
    if (!stmt) return std::move(stmt).error();
    stmt->BindAll(args...);
    return stmt->ForEach(on_row);
  }
  // Every row of `sql` with `args` as make(const Stmt&) -> T or Result<T> (an error stops).
  template <typename Make, typename... Args>
  auto Collect(const char* sql, const char* what, Make&& make, const Args&... args)
      -> Result<std::vector<typename Unwrapped<std::invoke_result_t<Make&, const Stmt&>>::type>> {
    using Made = std::invoke_result_t<Make&, const Stmt&>;
    std::vector<typename Unwrapped<Made>::type> out;
    Status s = ForEachRow(
        sql, what,
        [&](const Stmt& row) -> Status {
          Made value = make(row);
          if constexpr (std::is_same_v<Made, typename Unwrapped<Made>::type>) {
            out.push_back(std::move(value));
          } else {
            if (!value) return std::move(value).error();
            out.push_back(std::move(*value));
          }
          return {};
        },
        args...);
    if (!s) return std::move(s).error();
    return out;
  }

  // Runs SQL text without rows (schema, pragmas, transaction control).
  Status Exec(const char* sql, const char* what);

  // Logs the failure of `what` and returns the user-facing error.
  Error Fail(const char* what, int rc);
  // Logs "sqlite: <detail>" and returns kStoreFailed (StoreFailed through this connection's log).
  Error Corrupt(std::string_view detail) const { return StoreFailed(log_, detail); }

  // Copies what the WAL holds into the database file, as far as no reader still needs it
  // (SQLITE_CHECKPOINT_PASSIVE), and syncs it.
  Status CheckpointWal();

  // The blob in `column` of the row `rowid` of `table` (read-only).
  Result<BlobReader> OpenBlob(const char* table, const char* column, std::int64_t rowid, const char* what);

  // Rows changed by the last INSERT/UPDATE/DELETE.
  int Changes() const { return sqlite3_changes(db_); }
  // How long a statement waits for a lock another connection holds before SQLITE_BUSY.
  void SetBusyTimeout(int ms) { sqlite3_busy_timeout(db_, ms); }
  // The rowid of the last row inserted.
  std::int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

  // Whether a transaction is open (SQLite ends one by itself on some errors, e.g. a full disk).
  bool InTransaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }
  // Whether the connection must not be reused: it saw an I/O-class error or is stuck in a
  // transaction.
  bool broken() const { return broken_ || InTransaction(); }

  const LogSink& log() const { return log_; }

 private:
  Connection(sqlite3* db, LogSink log) : db_(db), log_(std::move(log)) {}
  Status Configure(const SqliteOptions& options);
  Status ConfigureWal();

  sqlite3* db_;
  LogSink log_;
  bool broken_ = false;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

using Stmt = Connection::Stmt;

// A transaction that rolls back unless committed.
class Transaction {
 public:
  enum class Mode { kRead, kWrite };

  // kRead: BEGIN DEFERRED (the WAL snapshot is taken at the first read); kWrite: BEGIN IMMEDIATE.
  static Result<Transaction> Begin(Connection& connection, Mode mode);

  Transaction(Transaction&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)), mode_(other.mode_) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  Status Commit();

 private:
  Transaction(Connection* connection, Mode mode) : connection_(connection), mode_(mode) {}
  Connection* connection_;
  Mode mode_;
};

// Runs body(Connection&) -> Status or Result<T> in a transaction of `mode`, committed when the
// body succeeds (rolled back when it fails).
template <typename Body>
auto InTransaction(Connection& c, Transaction::Mode mode, Body&& body) -> std::invoke_result_t<Body&, Connection&> {
  Result<Transaction> txn = Transaction::Begin(c, mode);
  if (!txn) return std::move(txn).error();
  auto out = body(c);
  if (!out) return out;
  if (Status s = txn->Commit(); !s) return std::move(s).error();
  return out;
}

}  // namespace costs::store::sqlite::detail
