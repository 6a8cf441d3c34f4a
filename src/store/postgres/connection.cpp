#include "store/postgres/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace costs::store::postgres::detail {

using Clock = std::chrono::steady_clock;

// Parses the elements of a one-dimensional text[] in text form whose elements are never NULL.
std::vector<std::string> ParseTextArray(std::string_view a) {
  std::vector<std::string> out;
  if (a.size() < 2) return out;
  a = a.substr(1, a.size() - 2);
  std::size_t i = 0;
  while (i < a.size()) {
    std::string element;
    if (a[i] == '"') {
      ++i;
      while (i < a.size() && a[i] != '"') {
        if (a[i] == '\\' && i + 1 < a.size()) ++i;
        element += a[i++];
      }
      ++i;  // the closing quote
    } else {
      while (i < a.size() && a[i] != ',') element += a[i++];
    }
    out.push_back(std::move(element));
    if (i < a.size() && a[i] == ',') ++i;
  }
  return out;
}

namespace {

// libpq's last error text without its trailing newlines.
std::string LastError(const PGconn* conn) {
  std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

bool IsSuccess(const PGresult* r) {
  const ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& url, const PostgresOptions& options,
                                                     std::atomic<bool>* reachable) {
  // connect_timeout is listed before the URL so that one given in the URL wins.
  const std::string connect_timeout = std::to_string(std::max(2, (options.statement_timeout_ms + 999) / 1000));
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), "costs", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  auto connection = std::unique_ptr<Connection>(new Connection(conn, options));
  connection->ReportReachability(reachable);
  constexpr const char* kUnreachable = "the cost store could not be reached";
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    connection->Reached(false);
    Log(options.log, LogLevel::kError, "postgres: connect failed: " + LastError(conn));
    return MakeError(ErrorCode::kStoreFailed, kUnreachable);
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
  if (PQsetnonblocking(conn, 1) != 0) {
    Log(options.log, LogLevel::kError, "postgres: switching to non-blocking mode failed");
    return MakeError(ErrorCode::kStoreFailed, kUnreachable);
  }
  // A committed batch must be durable when Ingest returns (service::Store): a server configured
  // with synchronous_commit = off gets it back on for our sessions; stronger settings
  // (remote_write, remote_apply) stay.
  const std::string setup = "SET statement_timeout = " + std::to_string(options.statement_timeout_ms) +
                            "; SET TIME ZONE 'UTC'; SELECT set_config('synchronous_commit', 'on', false) "
                            "WHERE current_setting('synchronous_commit') = 'off'";
  if (Result<Rows> r = connection->Query(setup.c_str(), "configure the connection"); !r) {
    return MakeError(ErrorCode::kStoreFailed, kUnreachable);
  }
  return connection;
}

Connection::Connection(PGconn* conn, const PostgresOptions& options)
    : conn_(conn),
      timeout_(std::chrono::milliseconds(options.statement_timeout_ms) + std::chrono::seconds(1)),
      log_(options.log) {}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<Rows> Connection::Exec(const Statement& statement, const Params& params) {
  last_sqlstate_.clear();
  if (params.has_nul()) {
    return MakeError(ErrorCode::kInvalidData, "text with a NUL character cannot be stored");
  }
  if (!prepared_.contains(statement.name)) {
    if (PQsendPrepare(conn_, statement.name, statement.sql, 0, nullptr) == 0) return FailSend(statement.what);
    Result<Rows> prepared = Await(statement.what);
    if (!prepared) return prepared;
    prepared_.insert(statement.name);
  }
  const std::vector<const char*> values = params.Pointers();
  const std::vector<int> lengths = params.Lengths();
  if (PQsendQueryPrepared(conn_, statement.name, params.size(), values.data(), lengths.data(), params.Formats().data(),
                          statement.binary ? 1 : 0) == 0) {
    return FailSend(statement.what);
  }
  return Await(statement.what);
}

Result<Rows> Connection::Query(const char* sql, const char* what) {
  last_sqlstate_.clear();
  if (PQsendQuery(conn_, sql) == 0) return FailSend(what);
  return Await(what);
}

Error Connection::Fail(std::string_view detail) const {
  std::string line = "postgres: ";
  line += detail;
  Log(log_, LogLevel::kError, line);
  return MakeError(ErrorCode::kStoreFailed, kFailedMessage);
}

Error Connection::FailSend(const char* what) {
  last_sqlstate_.clear();
  broken_ = true;
  Reached(false);
  return Fail(std::string(what) + " failed: " + LastError(conn_));
}

Error Connection::FailTimeout(const char* what) {
  last_sqlstate_.clear();
  broken_ = true;
  Reached(false);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
  return Fail(std::string(what) + " failed: no answer within " + std::to_string(ms) + " ms; closing the connection");
}

bool Connection::WaitSocket(short events, Clock::time_point deadline, short* revents) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd pfd{PQsocket(conn_), events, 0};
    const int rc = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (rc > 0) {
      *revents = pfd.revents;
      return true;
    }
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool Connection::Flush(Clock::time_point deadline, bool* timed_out) {
  for (;;) {
    const int rc = PQflush(conn_);
    if (rc == 0) return true;
    if (rc < 0) return false;
    short revents = 0;
    if (!WaitSocket(POLLIN | POLLOUT, deadline, &revents)) {
      *timed_out = true;
      return false;
    }
    if ((revents & POLLIN) != 0 && PQconsumeInput(conn_) == 0) return false;
  }
}

bool Connection::NextResult(Clock::time_point deadline, PGresult** result, bool* timed_out) {
  for (;;) {  // reads the socket only when what libpq holds ends mid-result
    if (PQisBusy(conn_) == 0) {
      *result = PQgetResult(conn_);
      return true;
    }
    short revents = 0;
    if (!WaitSocket(POLLIN, deadline, &revents)) {
      *timed_out = true;
      return false;
    }
    if (PQconsumeInput(conn_) == 0) return false;
  }
}

Result<Rows> Connection::Await(const char* what) {
  const Clock::time_point deadline = Clock::now() + timeout_;
  bool timed_out = false;
  if (!Flush(deadline, &timed_out)) return timed_out ? FailTimeout(what) : FailSend(what);
  PGresult* kept = nullptr;
  for (;;) {
    PGresult* result = nullptr;
    if (!NextResult(deadline, &result, &timed_out)) {
      if (kept != nullptr) PQclear(kept);
      return timed_out ? FailTimeout(what) : FailSend(what);
    }
    if (result == nullptr) break;
    const bool failed = !IsSuccess(result);
    if (kept == nullptr || (failed && IsSuccess(kept))) {
      if (kept != nullptr) PQclear(kept);
      kept = result;
    } else if (IsSuccess(kept)) {
      PQclear(kept);
      kept = result;
    } else {
      PQclear(result);  // after a failure: keep the first failure
    }
  }
  if (kept == nullptr) return FailSend(what);
  Reached(true);  // it answered, if only with an error
  if (IsSuccess(kept)) return Rows(kept);
  return FailResult(kept, what);
}

Error Connection::FailResult(PGresult* failed, const char* what) {
  Rows owned(failed);
  const char* sqlstate = PQresultErrorField(failed, PG_DIAG_SQLSTATE);
  last_sqlstate_ = sqlstate != nullptr ? sqlstate : "";
  if (PQstatus(conn_) != CONNECTION_OK || last_sqlstate_.starts_with("08") || last_sqlstate_.starts_with("57P")) {
    broken_ = true;  // connection exceptions, admin/crash shutdown
    Reached(false);
  }
  std::string message = PQresultErrorMessage(failed);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return Fail(std::string(what) + " failed: " + message + " (" + last_sqlstate_ + ")");
}

Result<std::vector<Rows>> Connection::ExecPipeline(std::span<const PipelineStep> steps) {
  last_sqlstate_.clear();
  for (const PipelineStep& step : steps) {
    if (step.params.has_nul()) return MakeError(ErrorCode::kInvalidData, "text with a NUL character cannot be stored");
  }
  const char* what = steps.empty() ? "read" : steps.front().statement->what;
  if (PQenterPipelineMode(conn_) == 0) return FailSend(what);
  std::vector<bool> prepares(steps.size(), false);
  std::unordered_set<std::string_view> queued;  // statements prepared by this pipeline
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Statement& statement = *steps[i].statement;
    if (!prepared_.contains(statement.name) && queued.insert(statement.name).second) {
      if (PQsendPrepare(conn_, statement.name, statement.sql, 0, nullptr) == 0) return FailSend(statement.what);
      prepares[i] = true;
    }
    const Params& params = steps[i].params;
    const std::vector<const char*> values = params.Pointers();
    const std::vector<int> lengths = params.Lengths();
    if (PQsendQueryPrepared(conn_, statement.name, params.size(), values.data(), lengths.data(),
                            params.Formats().data(), statement.binary ? 1 : 0) == 0) {
      return FailSend(statement.what);
    }
  }
  if (PQpipelineSync(conn_) == 0) return FailSend(what);
  Result<std::vector<Rows>> rows = AwaitPipeline(steps, prepares);
  if (dead()) return rows;
  if (PQexitPipelineMode(conn_) == 0) return FailSend(what);
  if (!rows && PQtransactionStatus(conn_) != PQTRANS_IDLE) (void)Query("ROLLBACK", "roll back");
  return rows;
}

Result<std::vector<Rows>> Connection::AwaitPipeline(std::span<const PipelineStep> steps,
                                                    const std::vector<bool>& prepares) {
  // The server bounds each statement by statement_timeout: the wait is bounded per result, not
  // for the whole pipeline (a read of several slow but legal windows must not time out).
  Clock::time_point deadline = Clock::now() + timeout_;
  const char* what = steps.empty() ? "read" : steps.front().statement->what;
  bool timed_out = false;
  if (!Flush(deadline, &timed_out)) return timed_out ? FailTimeout(what) : FailSend(what);
  std::vector<Rows> out;
  out.reserve(steps.size());
  PGresult* failed = nullptr;  // the first failure
  const char* failed_what = what;
  // One result then nullptr per prepare and per statement, in the order they were queued;
  // `*succeeded`: whether this one's result did.
  auto take = [&](const char* step_what, bool keep, bool* succeeded) -> bool {
    *succeeded = false;
    PGresult* result = nullptr;
    for (;;) {
      if (!NextResult(deadline, &result, &timed_out)) return false;
      if (result == nullptr) return true;
      deadline = Clock::now() + timeout_;  // the next statement's own bound
      *succeeded = IsSuccess(result);
      if (!*succeeded && PQresultStatus(result) != PGRES_PIPELINE_ABORTED && failed == nullptr) {
        failed = result;
        failed_what = step_what;
      } else if (keep && *succeeded && failed == nullptr) {
        out.emplace_back(result);
      } else {
        PQclear(result);
      }
    }
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const char* step_what = steps[i].statement->what;
    bool prepared = false, ran = false;
    const bool ok = (!prepares[i] || take(step_what, false, &prepared)) && take(step_what, true, &ran);
    if (!ok) {
      if (failed != nullptr) PQclear(failed);
      return timed_out ? FailTimeout(step_what) : FailSend(step_what);
    }
    if (prepared) prepared_.insert(steps[i].statement->name);
  }
  for (;;) {  // the sync
    PGresult* result = nullptr;
    if (!NextResult(deadline, &result, &timed_out) || (result == nullptr && Clock::now() >= deadline)) {
      if (failed != nullptr) PQclear(failed);
      return timed_out || result == nullptr ? FailTimeout(what) : FailSend(what);
    }
    if (result == nullptr) continue;
    const bool sync = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    PQclear(result);
    if (sync) break;
  }
  Reached(true);
  if (failed != nullptr) return FailResult(failed, failed_what);
  return out;
}

}  // namespace costs::store::postgres::detail
