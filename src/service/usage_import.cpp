#include "service/usage_import.hpp"

#include <cassert>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
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
  const OrganizationExists exists = [&store](std::string_view id) -> Result<bool> {
    auto found = store.FindOrganization(id);
    if (!found) return std::move(found).error();
    return found->has_value();
  };
  OrganizationLookups lookups;  // each organization looked up once per import, not per part
  PartReader reader(read, part_bytes);
  ParsedUsageBatch all;                            // the lines and problems so far; records only per part
  std::unique_ptr<IngestTransaction> transaction;  // begun with the first records
  std::size_t records = 0;
  for (;;) {
    Result<std::string_view> lines = reader.Next();
    if (!lines) return std::move(lines).error();
    if (lines->empty()) break;
    Result<ParsedUsageBatch> part = ParseUsagePart(*lines, exists, all.lines, lookups);
    if (!part) return std::move(part).error();
    all.lines += part->lines;
    if (part->problem_count > 0 || all.problem_count > 0) {
      MergeProblems(std::move(*part), all);
      continue;  // nothing more is ingested
    }
    if (part->records.empty()) continue;
    if (!transaction) {
      auto begun = store.BeginIngest();
      if (!begun) return std::move(begun).error();
      transaction = std::move(*begun);
    }
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
