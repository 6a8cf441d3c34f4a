#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::service {

// Whether an organization exists: true or false, or the store's error (kStoreFailed).
using OrganizationExists = std::function<Result<bool>(std::string_view id)>;

// At most this many problems of a batch are kept (the first ones, in line order); the others
// are only counted.
inline constexpr std::size_t kMaxReportedProblems = 100;
// Organizations are looked up until this many were unknown; the later ones are not.
inline constexpr std::size_t kMaxUnknownOrganizations = 100;

// One NDJSON usage batch, parsed and validated.
struct ParsedUsageBatch {
  // Every record, in line order, when problem_count is 0; else empty.
  std::vector<domain::UsageRecord> records;
  // The first kMaxReportedProblems problems, in line order and, within a line, in the order
  // domain::ValidateUsage reports them, followed by the line's unknown organization: field
  // paths "records[i]" (a line that is not a JSON object) or "records[i].field", i counting
  // non-blank lines from 0.
  std::vector<domain::FieldProblem> problems;
  // Every problem found, those kept in `problems` and those beyond them.
  std::size_t problem_count = 0;
  // Distinct organization ids not looked up because kMaxUnknownOrganizations others were
  // unknown before them (their lines' unknown organizations are not counted as problems).
  std::size_t unchecked_organizations = 0;
  // Non-blank lines of the body (the next part's first line, for ParseUsagePart).
  std::size_t lines = 0;
};

// Parses and validates an NDJSON batch (one JSON object per line; lines holding only spaces,
// tabs and CRs are skipped). Every record whose organization_id is a non-empty string must
// name an organization for which `exists` answers true; `exists` is asked at most once per
// distinct id, in order of first use, and no more once kMaxUnknownOrganizations ids were
// unknown. Work and memory are bounded by the body's size, never by its problems: records
// are reserved by bytes (a valid line is long), problem texts kept only for the first
// kMaxReportedProblems. Returns the first error `exists` returns, else the records and problems.
// An empty batch is no problem here (the caller decides). A large body is parsed in two halves
// on two threads (`exists` is only called from the calling thread).
Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists);

// The same, with the body split into chunks parsed concurrently, one per thread: a chunk
// begins at the first line start at or after each of `split_at` (byte offsets into `body`,
// ascending; an offset past the end gives an empty chunk). The outcome does not depend on
// the split.
Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists,
                                         std::span<const std::size_t> split_at);

// What the parts of one batch learnt of its organizations (FinishUsagePart): whether each exists,
// asked once per batch, and how many were unknown (none is asked after
// kMaxUnknownOrganizations), as for the batch parsed whole.
struct OrganizationLookups {
  std::unordered_map<std::string, std::uint8_t> state;  // id -> known, unknown or not looked up
  std::size_t unknown = 0;
};

// As ParseUsageBatch, for one part (whole lines) of a larger batch, in two steps, so that the
// first can run on another thread while the store is busy. ScanUsagePart parses and validates
// the lines (it touches nothing shared and may run on any thread; a large part on two threads).
// FinishUsagePart, on the thread that owns `lookups` and may call `exists`, looks up the part's
// organizations and numbers its problems; the parts, finished in order with the same `lookups`,
// are one batch: field paths count lines over the whole batch (`first_line` non-blank lines came
// before the part), and organizations are looked up as for the batch parsed whole.
// kMaxReportedProblems applies to the part (a batch keeps the first of its parts' problems).
class ScannedUsagePart {
 public:
  struct Chunks;  // usage_batch.cpp
  explicit ScannedUsagePart(std::unique_ptr<Chunks> chunks);
  ScannedUsagePart(ScannedUsagePart&&) noexcept;
  ScannedUsagePart& operator=(ScannedUsagePart&&) noexcept;
  ScannedUsagePart(const ScannedUsagePart&) = delete;
  ScannedUsagePart& operator=(const ScannedUsagePart&) = delete;
  ~ScannedUsagePart();

 private:
  friend Result<ParsedUsageBatch> FinishUsagePart(ScannedUsagePart scanned, const OrganizationExists& exists,
                                                  std::size_t first_line, OrganizationLookups& lookups);
  std::unique_ptr<Chunks> chunks_;
};
ScannedUsagePart ScanUsagePart(std::string_view lines);
Result<ParsedUsageBatch> FinishUsagePart(ScannedUsagePart scanned, const OrganizationExists& exists,
                                         std::size_t first_line, OrganizationLookups& lookups);

// The kInvalidRecord error of a batch with problems (problem_count > 0): each field once, in
// order of its first problem; the message names the count and the first few problems.
Error UsageProblemsError(const ParsedUsageBatch& batch);

}  // namespace costs::service
