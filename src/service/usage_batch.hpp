#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/usage.hpp"

namespace costs::service {

// Whether an organization exists: true or false, or the store's error (kStoreFailed).
using OrganizationExists = std::function<Result<bool>(std::string_view id)>;

// One NDJSON usage batch, parsed and validated.
struct ParsedUsageBatch {
  // Every record, in line order, when `problems` is empty; else empty.
  std::vector<domain::UsageRecord> records;
  // Every problem, in line order and, within a line, in the order domain::ValidateUsage
  // reports them, followed by the line's unknown organization: field paths "records[i]" (a
  // line that is not a JSON object) or "records[i].field", i counting non-blank lines from 0.
  std::vector<domain::FieldProblem> problems;
};

// Parses and validates an NDJSON batch (one JSON object per line; lines holding only spaces,
// tabs and CRs are skipped). Every record whose organization_id is a non-empty string must
// name an organization for which `exists` answers true; `exists` is asked at most once per
// distinct id. Returns the first error `exists` returns, else the records and problems.
// An empty batch is no problem here (the caller decides). A large body is parsed in two halves
// on two threads (`exists` is only called from the calling thread).
Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists);

// The same, with the body split into chunks parsed concurrently, one per thread: a chunk
// begins at the first line start at or after each of `split_at` (byte offsets into `body`,
// ascending; an offset past the end gives an empty chunk). The outcome does not depend on
// the split.
Result<ParsedUsageBatch> ParseUsageBatch(std::string_view body, const OrganizationExists& exists,
                                         std::span<const std::size_t> split_at);

}  // namespace costs::service
