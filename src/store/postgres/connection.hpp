#pragma once

// The PostgreSQL adapter's wire layer: statement texts with their names, text parameters and
// array literals, owned results, one non-blocking connection with bounded waits, and a
// transaction that rolls back unless committed. Internal to src/store/postgres/.

#include <libpq-fe.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "store/postgres/postgres_store.hpp"

namespace costs::store::postgres::detail {

inline constexpr const char* kFailedMessage = "the cost store failed";
inline constexpr const char* kBusyMessage = "the cost store is busy; try again";

// SQLSTATEs the adapter reacts to.
inline constexpr std::string_view kNumericOutOfRange = "22003";
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kForeignKeyViolation = "23503";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";

// A statement prepared once per connection, by name.
struct Statement {
  const char* name;
  const char* sql;
  const char* what;     // for the log: "<what> failed"
  bool binary = false;  // results in binary form (bytea columns read without hex decoding)
};

// A PostgreSQL array literal in text form ({"a","b\"c",NULL}, {1,2}, {t,f}), built element by
// element.
class ArrayParam {
 public:
  void Text(std::string_view v) {
    Separate();
    text_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  void Int(std::int64_t v) {
    Separate();
    text_ += std::to_string(v);
  }
  void Bool(bool v) {
    Separate();
    text_ += v ? 't' : 'f';
  }
  void Null() {
    Separate();
    text_ += "NULL";
  }
  std::string Finish() && {
    text_ += '}';
    return std::move(text_);
  }

 private:
  void Separate() {
    if (text_.size() > 1) text_ += ',';
  }
  std::string text_ = "{";
};

// A one-dimensional PostgreSQL array in binary form (array_send's layout: 20 bytes of header,
// then each element as a big-endian int32 length and its bytes), for arrays of bigint, bytea or
// text bound as one parameter without quoting or escaping.
class BinaryArray {
 public:
  static constexpr std::uint32_t kInt8 = 20;
  static constexpr std::uint32_t kBytea = 17;
  static constexpr std::uint32_t kText = 25;

  explicit BinaryArray(std::uint32_t element_type = kText) : element_type_(element_type) {}
  void Int(std::int64_t v) {
    Put32(8);
    Put64(static_cast<std::uint64_t>(v));
    ++count_;
  }
  // A bytea or text element (text with a NUL character cannot be stored: see has_nul()).
  void Bytes(std::string_view v) {
    if (element_type_ == kText && v.find('\0') != std::string_view::npos) has_nul_ = true;
    Put32(static_cast<std::uint32_t>(v.size()));
    body_.append(v);
    ++count_;
  }
  bool has_nul() const { return has_nul_; }
  std::size_t size() const { return count_; }
  std::string Finish() && {
    std::string out;
    out.reserve(20 + body_.size());
    const bool empty = count_ == 0;
    for (std::uint32_t v : {empty ? 0u : 1u, 0u, element_type_}) AppendBig32(out, v);
    if (!empty) {
      AppendBig32(out, static_cast<std::uint32_t>(count_));
      AppendBig32(out, 1);  // lower bound
    }
    out += body_;
    return out;
  }

 private:
  static void AppendBig32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  void Put32(std::uint32_t v) { AppendBig32(body_, v); }
  void Put64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) body_.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  std::uint32_t element_type_;
  std::string body_;
  std::size_t count_ = 0;
  bool has_nul_ = false;
};

// The parameters of one statement execution ($1, $2, ... in order): text, or binary arrays.
class Params {
 public:
  Params& Text(std::string_view v) {
    if (v.find('\0') != std::string_view::npos) has_nul_ = true;
    values_.emplace_back(std::string(v));
    formats_.push_back(0);
    return *this;
  }
  Params& Int(std::int64_t v) { return Text(std::to_string(v)); }
  Params& Bool(bool v) { return Text(v ? "t" : "f"); }
  Params& Null() {
    values_.emplace_back(std::nullopt);
    formats_.push_back(0);
    return *this;
  }
  Params& Array(ArrayParam&& array) { return Text(std::move(array).Finish()); }
  Params& Array(BinaryArray&& array) {
    has_nul_ = has_nul_ || array.has_nul();
    values_.emplace_back(std::move(array).Finish());
    formats_.push_back(1);
    return *this;
  }

  // Text with a NUL character cannot be passed to (or stored by) PostgreSQL.
  bool has_nul() const { return has_nul_; }
  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->data() : nullptr);
    return out;
  }
  std::vector<int> Lengths() const {
    std::vector<int> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? static_cast<int>(v->size()) : 0);
    return out;
  }
  const std::vector<int>& Formats() const { return formats_; }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;  // 0 text, 1 binary, per value
  bool has_nul_ = false;
};

// An owned PGresult.
class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}
  Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  Rows& operator=(Rows&&) = delete;
  ~Rows() {
    if (result_ != nullptr) PQclear(result_);
  }

  int size() const { return PQntuples(result_); }
  bool IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
  std::string_view Text(int row, int col) const {
    return std::string_view(PQgetvalue(result_, row, col), static_cast<std::size_t>(PQgetlength(result_, row, col)));
  }
  // A bigint/integer/smallint column, in text or binary form (big-endian, 2, 4 or 8 bytes).
  std::int64_t Int(int row, int col) const {
    const std::string_view t = Text(row, col);
    if (PQfformat(result_, col) == 1) {
      std::uint64_t v = 0;
      for (char c : t) v = (v << 8) | static_cast<unsigned char>(c);
      const int bits = static_cast<int>(t.size()) * 8;
      if (bits > 0 && bits < 64 && ((v >> (bits - 1)) & 1) != 0) v |= ~std::uint64_t{0} << bits;  // sign
      return static_cast<std::int64_t>(v);
    }
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }
  bool Bool(int row, int col) const {
    const std::string_view t = Text(row, col);
    return PQfformat(result_, col) == 1 ? t == std::string_view("\1", 1) : t == "t";
  }
  // Rows an INSERT/UPDATE/DELETE affected.
  std::int64_t Affected() const {
    const char* n = PQcmdTuples(result_);
    return n == nullptr || *n == '\0' ? 0 : std::strtoll(n, nullptr, 10);
  }
  std::string_view CommandStatus() const {
    const char* s = PQcmdStatus(result_);
    return s == nullptr ? std::string_view() : std::string_view(s);
  }

 private:
  PGresult* result_;
};

// Parses the elements of a one-dimensional text[] in text form whose elements are never NULL.
std::vector<std::string> ParseTextArray(std::string_view a);

// One statement of a pipeline (Connection::ExecPipeline) with its parameters.
struct PipelineStep {
  const Statement* statement;
  Params params;
};

// One PGconn in non-blocking mode and the names of the statements prepared on it. Used by one
// thread at a time (a Lease). Every wait for the server is bounded (statement timeout + 1 s).
class Connection {
 public:
  // kStoreFailed (logged) when the server cannot be reached or refuses the session set-up.
  // `reachable`, when given, is set after every exchange: whether the server answered.
  static Result<std::unique_ptr<Connection>> Open(const std::string& url, const PostgresOptions& options,
                                                  std::atomic<bool>* reachable = nullptr);

  // Reports whether the server answers to `reachable` from now on.
  void ReportReachability(std::atomic<bool>* reachable) { reachable_ = reachable; }

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a prepared statement (preparing it on first use on this connection).
  Result<Rows> Exec(const Statement& statement, const Params& params);

  // Runs `steps` in libpq's pipeline mode: each statement (prepared first where needed on this
  // connection) sent at once, all answered in one round trip. Their rows in order; else the
  // first failure (the server skips the statements after it), and a transaction the steps left
  // open is rolled back. A transaction begun by a step and not ended stays open on success.
  Result<std::vector<Rows>> ExecPipeline(std::span<const PipelineStep> steps);

  // Runs SQL text without parameters (schema, transaction control); several statements
  // separated by ';' are one implicit transaction unless inside an explicit one.
  Result<Rows> Query(const char* sql, const char* what);

  // Logs `detail` (prefixed "postgres: ") and returns kStoreFailed with the message for users.
  Error Fail(std::string_view detail) const;

  // Where the connection's diagnostics go (for the byte formats' Unpack functions).
  const LogSink& log() const { return log_; }

  // The SQLSTATE of the last failed statement ("" when the failure was not the server's).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

  // Whether the connection broke (or timed out): nothing more can be sent on it.
  bool dead() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }

  // Whether the connection must not be reused: it broke, timed out or is inside a transaction.
  bool broken() const {
    return broken_ || PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE;
  }

  // The socket and the connection itself, for a caller that waits for notifications.
  PGconn* raw() const { return conn_; }

 private:
  Connection(PGconn* conn, const PostgresOptions& options);
  void Reached(bool answered) {
    if (reachable_ != nullptr) reachable_->store(answered);
  }

  Error FailSend(const char* what);
  Error FailTimeout(const char* what);
  // Waits until the socket is ready for `events`, or the deadline. false on timeout or error.
  bool WaitSocket(short events, std::chrono::steady_clock::time_point deadline, short* revents);
  // Sends what libpq holds, reading meanwhile. false when the connection failed (`*timed_out`
  // says whether the deadline passed).
  bool Flush(std::chrono::steady_clock::time_point deadline, bool* timed_out);
  // The next result (nullptr ends one statement's results), waiting up to the deadline; false on
  // a failure of the connection (`*timed_out` as above).
  bool NextResult(std::chrono::steady_clock::time_point deadline, PGresult** result, bool* timed_out);
  // Flushes the query, then collects its results: the first failed one, else the last.
  Result<Rows> Await(const char* what);
  // kStoreFailed for the failed result `failed` of `what` (owned, cleared), noting its SQLSTATE
  // and whether the connection broke.
  Error FailResult(PGresult* failed, const char* what);
  // Collects the results of `steps` (queued with `prepares[i]`: whether a prepare preceded step
  // i) and the pipeline's sync.
  Result<std::vector<Rows>> AwaitPipeline(std::span<const PipelineStep> steps, const std::vector<bool>& prepares);

  PGconn* conn_;
  const std::chrono::steady_clock::duration timeout_;
  const LogSink log_;
  std::atomic<bool>* reachable_ = nullptr;
  bool broken_ = false;
  std::string last_sqlstate_;
  std::unordered_set<std::string_view> prepared_;  // statement names (static storage)
};

// A transaction that rolls back unless committed.
class Transaction {
 public:
  // READ COMMITTED whatever the server's default: an ingest's statements after its advisory
  // lock must see the batch that held the lock before it.
  static constexpr const char* kWrite = "BEGIN ISOLATION LEVEL READ COMMITTED";
  static constexpr const char* kSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

  static Result<Transaction> Begin(Connection& connection, const char* begin) {
    if (Result<Rows> r = connection.Query(begin, "begin a transaction"); !r) return std::move(r).error();
    return Transaction(&connection);
  }
  // The transaction a pipeline's step began on `connection` (still open).
  static Transaction Adopt(Connection& connection) { return Transaction(&connection); }

  Transaction(Transaction&& other) noexcept : connection_(std::exchange(other.connection_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    // A dead connection is closed by Release() anyway; the server rolls its transaction back.
    if (connection_ != nullptr && !connection_->dead()) (void)connection_->Query("ROLLBACK", "roll back");
  }

  Status Commit() {
    Connection* connection = std::exchange(connection_, nullptr);
    Result<Rows> r = connection->Query("COMMIT", "commit");
    if (!r) return std::move(r).error();
    if (r->CommandStatus() != "COMMIT") {  // COMMIT of a failed transaction answers ROLLBACK
      return connection->Fail("commit failed: the transaction was rolled back");
    }
    return {};
  }

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}
  Connection* connection_;
};

}  // namespace costs::store::postgres::detail
