#include "store/sqlite/connection.hpp"

namespace costs::store::sqlite::detail {

namespace {

// SqliteOptions::defer_checkpoints: the WAL size, in pages, past which a commit checkpoints
// anyway (about 100 MB, eight D1 batches).
constexpr int kDeferredCheckpointPages = 25'000;

// Errors after which a connection is not trusted again (I/O, corruption, a vanished file).
bool IsConnectionFatal(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return false;
    default:
      return true;
  }
}

std::string FailureLine(const char* what, std::string_view detail, int rc) {
  std::string line = "sqlite: ";
  line += what;
  line += " failed: ";
  line += detail;
  line += " (" + std::to_string(rc) + ")";
  return line;
}

}  // namespace

Error StoreFailed(const LogSink& log, std::string_view detail) {
  std::string line = "sqlite: ";
  line += detail;
  Log(log, LogLevel::kError, line);
  return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
}

// ---- Stmt ------------------------------------------------------------------------------------

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Stmt::Bind(int index, std::string_view text) {
  // A null pointer would bind SQL NULL; empty text is "".
  const char* data = text.data() != nullptr ? text.data() : "";
  Check(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void Stmt::Bind(int index, AsBlob blob) {
  const char* data = blob.bytes.data() != nullptr ? blob.bytes.data() : "";
  Check(sqlite3_bind_blob64(stmt_, index, data, blob.bytes.size(), SQLITE_STATIC));
}

Result<bool> Stmt::Step() {
  if (bind_rc_ != SQLITE_OK) return connection_->Fail(what_, bind_rc_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return connection_->Fail(what_, rc);
}

Status Stmt::Run() {
  Result<bool> r = Step();
  if (!r) return std::move(r).error();
  return {};
}

std::string_view Stmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string_view Stmt::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

// ---- BlobReader ------------------------------------------------------------------------------

Connection::BlobReader::~BlobReader() {
  if (blob_ != nullptr) sqlite3_blob_close(blob_);
}

Status Connection::BlobReader::Read(std::size_t offset, std::span<char> out) {
  const int rc = sqlite3_blob_read(blob_, out.data(), static_cast<int>(out.size()), static_cast<int>(offset));
  if (rc == SQLITE_OK) return {};
  return c_->Fail("read a blob", rc);
}

// ---- Connection ------------------------------------------------------------------------------

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto connection = std::unique_ptr<Connection>(new Connection(db, options.log));
  if (rc != SQLITE_OK) {
    connection->Fail("open the database", rc);
    return MakeError(ErrorCode::kStoreFailed, kOpenFailedMessage);
  }
  if (Status s = connection->Configure(options); !s) return std::move(s).error();
  return connection;
}

Status Connection::Configure(const SqliteOptions& options) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  if (Status s = ConfigureWal(); !s) return s;
  if (options.defer_checkpoints) {
    // A commit appends to the WAL only; the next store opened so copies it (CheckpointWal).
    // Should checkpoints keep failing, a commit still checkpoints once the WAL holds
    // kDeferredCheckpointPages; and a WAL file grown larger is cut back when it restarts.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_wal_autocheckpoint(db_, kDeferredCheckpointPages);
    if (Status s = Exec("PRAGMA journal_size_limit = 134217728", "limit the WAL"); !s) {
      return MakeError(ErrorCode::kStoreFailed, kOpenFailedMessage);
    }
  }
  if (Status s = Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure"); !s) {
    return MakeError(ErrorCode::kStoreFailed, kOpenFailedMessage);
  }
  return {};
}

Status Connection::ConfigureWal() {
  Result<Stmt> stmt = Prepare("PRAGMA journal_mode = WAL", "switch to WAL");
  if (stmt) {
    Result<bool> row = stmt->Step();
    if (row && *row && stmt->Text(0) == "wal") return {};
    if (row) {
      Log(log_, LogLevel::kError, "sqlite: switch to WAL failed: journal_mode stays " + std::string(stmt->Text(0)));
    }
  }
  broken_ = true;
  return MakeError(ErrorCode::kStoreFailed, kOpenFailedMessage);
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Connection::Prepare(const char* sql, const char* what) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return Fail(what, rc);
    }
    it = statements_.emplace(sql, stmt).first;
  }
  return Stmt(this, it->second, what);
}

Status Connection::Exec(const char* sql, const char* what) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  Log(log_, LogLevel::kError, FailureLine(what, message != nullptr ? message : sqlite3_errstr(rc), rc));
  sqlite3_free(message);
  if (IsConnectionFatal(rc)) broken_ = true;
  return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
}

Error Connection::Fail(const char* what, int rc) {
  Log(log_, LogLevel::kError, FailureLine(what, db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc), rc));
  if (IsConnectionFatal(rc)) broken_ = true;
  if ((rc & 0xff) == SQLITE_BUSY) return MakeError(ErrorCode::kStoreFailed, kBusyMessage);
  return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
}

Status Connection::CheckpointWal() {
  int log_frames = 0;
  int copied_frames = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied_frames);
  if (rc == SQLITE_OK) return {};
  return Fail("checkpoint the WAL", rc);
}

Result<Connection::BlobReader> Connection::OpenBlob(const char* table, const char* column, std::int64_t rowid,
                                                    const char* what) {
  sqlite3_blob* blob = nullptr;
  const int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 0, &blob);
  if (rc != SQLITE_OK) {
    if (blob != nullptr) sqlite3_blob_close(blob);
    return Fail(what, rc);
  }
  return BlobReader(this, blob);
}

// ---- Transaction -----------------------------------------------------------------------------

namespace {
// A read transaction's statements, prepared once per connection (cached by address).
constexpr const char* kBeginRead = "BEGIN DEFERRED";
constexpr const char* kCommitRead = "COMMIT";
}  // namespace

Result<Transaction> Transaction::Begin(Connection& connection, Mode mode) {
  Status s = mode == Mode::kWrite ? connection.Exec("BEGIN IMMEDIATE", "begin a transaction")
                                  : connection.Run(kBeginRead, "begin a transaction");
  if (!s) return std::move(s).error();
  return Transaction(&connection, mode);
}

Transaction::~Transaction() {
  if (connection_ != nullptr && connection_->InTransaction()) (void)connection_->Exec("ROLLBACK", "roll back");
}

Status Transaction::Commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  Status s = mode_ == Mode::kWrite ? connection->Exec("COMMIT", "commit") : connection->Run(kCommitRead, "commit");
  // A failed COMMIT may leave the transaction open (or SQLite may have rolled it back).
  if (!s && connection->InTransaction()) (void)connection->Exec("ROLLBACK", "roll back");
  return s;
}

}  // namespace costs::store::sqlite::detail
