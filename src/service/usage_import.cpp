#include "service/usage_import.hpp"

#include <cassert>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "service/usage_batch.hpp"

namespace costs::service {
namespace {

// Reads parts of whole lines from `read` into a buffer of about `part_bytes`, grown only for a
// line longer than that.
class PartReader {
 public:
  PartReader(const NdjsonReader& read, std::size_t part_bytes) : read_(read), buffer_(part_bytes) {}

  // The next part (empty at the input's end). Valid until the next call.
  Result<std::string_view> Next() {
    std::memmove(buffer_.data(), buffer_.data() + taken_, held_ - taken_);
    held_ -= taken_;
    taken_ = 0;
    while (!ended_) {
      if (held_ == buffer_.size()) {
        if (LastLineEnd() != buffer_.data()) break;  // a whole line or more is held
        buffer_.resize(buffer_.size() * 2);          // one line longer than the buffer
      }
      Result<std::size_t> got = read_(std::span<char>(buffer_).subspan(held_));
      if (!got) return std::move(got).error();
      assert(*got <= buffer_.size() - held_);
      if (*got == 0) ended_ = true;
      held_ += *got;
    }
    taken_ = ended_ ? held_ : static_cast<std::size_t>(LastLineEnd() - buffer_.data());
    return std::string_view(buffer_.data(), taken_);
  }

 private:
  // Just after the last '\n' held (the buffer's start when there is none).
  const char* LastLineEnd() const {
    const std::string_view held(buffer_.data(), held_);
    const std::size_t eol = held.rfind('\n');
    return buffer_.data() + (eol == std::string_view::npos ? 0 : eol + 1);
  }

  const NdjsonReader& read_;
  std::vector<char> buffer_;
  std::size_t held_ = 0;   // bytes read into buffer_
  std::size_t taken_ = 0;  // bytes of buffer_ returned by the last Next
  bool ended_ = false;
};

// Reads and scans (ScanUsagePart) the parts of the input on a thread of its own, one part ahead
// of the caller: while the caller stores part N, the thread reads and scans part N+1, and it
// starts a part only when the caller resumes it, so that at most two parts' records (and the
// read buffer) are held. The reader is called on that thread only. Without a thread to be had,
// each part is read and scanned when taken. Destruction stops the thread after its current part
// and joins it.
class PartScanner {
 public:
  // A scanned part, std::nullopt at the input's end, or the reader's error.
  using Next = Result<std::optional<ScannedUsagePart>>;

  PartScanner(const NdjsonReader& read, std::size_t part_bytes) : reader_(read, part_bytes) {
    try {
      thread_ = std::jthread([this](std::stop_token stop) { Run(stop); });
    } catch (const std::system_error&) {  // scanned on the caller's thread, in Take
    }
  }
  PartScanner(const PartScanner&) = delete;
  PartScanner& operator=(const PartScanner&) = delete;

  // The next part, once scanned. What the thread threw (std::bad_alloc) is thrown here.
  // REQUIRES: the previous Take's part was resumed (Resume) and was neither the end nor an error.
  Next Take() {
    if (!thread_.joinable()) return ScanNext();
    std::unique_lock lock(mu_);
    changed_.wait(lock, [this] { return ready_.has_value() || thrown_; });
    if (thrown_) std::rethrow_exception(thrown_);
    Next next = std::move(*ready_);
    ready_.reset();
    return next;
  }

  // Lets the thread read and scan the part after the one taken last.
  void Resume() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      resumed_ = true;
    }
    changed_.notify_all();
  }

 private:
  Next ScanNext() {
    Result<std::string_view> lines = reader_.Next();
    if (!lines) return std::move(lines).error();
    if (lines->empty()) return std::optional<ScannedUsagePart>();
    return std::optional<ScannedUsagePart>(ScanUsagePart(*lines));
  }

  void Run(const std::stop_token& stop) {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (!changed_.wait(lock, stop, [this] { return resumed_; })) return;  // stopped
        resumed_ = false;
      }
      std::optional<Next> next;
      std::exception_ptr thrown;
      try {
        next = ScanNext();
      } catch (...) {
        thrown = std::current_exception();
      }
      const bool last = thrown || !next->has_value() || !next->value().has_value();  // the end or an error
      {
        std::lock_guard lock(mu_);
        if (thrown) {
          thrown_ = thrown;
        } else {
          ready_ = std::move(next);
        }
      }
      changed_.notify_all();
      if (last) return;
    }
  }

  PartReader reader_;  // used by the thread only, or by Take without one
  std::mutex mu_;
  std::condition_variable_any changed_;
  bool resumed_ = true;        // the thread may read and scan the next part
  std::optional<Next> ready_;  // scanned, not yet taken
  std::exception_ptr thrown_;
  std::jthread thread_;  // last: stopped and joined before the members above go
};

// The problems of the parts, as one batch's: the first kMaxReportedProblems kept, all counted.
void MergeProblems(ParsedUsageBatch&& part, ParsedUsageBatch& all) {
  for (domain::FieldProblem& p : part.problems) {
    if (all.problems.size() == kMaxReportedProblems) break;
    all.problems.push_back(std::move(p));
  }
  all.problem_count += part.problem_count;
  all.unchecked_organizations += part.unchecked_organizations;
}

}  // namespace

Error AsInvalidRecord(Error error) {
  if (error.code != ErrorCode::kOrganizationNotFound) return error;
  error.code = ErrorCode::kInvalidRecord;
  error.message = "records name organizations that do not exist; nothing was stored: " + error.message;
  return error;
}

Result<IngestOutcome> ImportNdjson(Store& store, const NdjsonReader& read, std::size_t part_bytes) {
  assert(part_bytes > 0);
  OrganizationLookups lookups;  // each organization looked up once per import, not per part
  ParsedUsageBatch all;         // the lines and problems so far; records only per part
  // Declared before the transaction, so destroyed after it: on an early return the transaction
  // rolls back at once, and only then is the reading thread stopped and joined (it never
  // touches the store, and may be reading a part from a slow input).
  PartScanner scanner(read, part_bytes);
  std::unique_ptr<IngestTransaction> transaction;  // begun with the first records
  // Through the transaction while it is open: it may hold the store's only connection.
  const OrganizationExists exists = [&store, &transaction](std::string_view id) -> Result<bool> {
    return transaction ? transaction->OrganizationExists(id) : OrganizationExistsIn(store, id);
  };
  std::size_t records = 0;
  for (;;) {
    PartScanner::Next scanned = scanner.Take();
    if (!scanned) return std::move(scanned).error();
    if (!*scanned) break;
    Result<ParsedUsageBatch> part = FinishUsagePart(std::move(**scanned), exists, all.lines, lookups);
    if (!part) return std::move(part).error();
    all.lines += part->lines;
    const bool clean = part->problem_count == 0 && all.problem_count == 0;
    if (!clean) {  // rolled back now: other writers need not wait for the rest of the file, read
      MergeProblems(std::move(*part), all);  // for its problems only
      transaction.reset();
    }
    if (clean && !part->records.empty() && !transaction) {
      auto begun = store.BeginIngest();
      if (!begun) return std::move(begun).error();
      transaction = std::move(*begun);
    }
    scanner.Resume();  // the next part is read and scanned while this one is stored
    if (!clean || part->records.empty()) continue;
    if (Status s = transaction->Add(part->records); !s) return std::move(s).error();
    records += part->records.size();
  }
  if (all.problem_count > 0) return UsageProblemsError(all);  // the transaction rolls back
  if (records == 0) return MakeError(ErrorCode::kInvalidData, "the usage batch holds no records");
  Result<IngestOutcome> outcome = transaction->Commit();
  if (!outcome) return AsInvalidRecord(std::move(outcome).error());
  return outcome;
}

}  // namespace costs::service
