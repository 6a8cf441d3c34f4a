#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "service/store.hpp"

namespace costs::service {

// What VerifyStore found.
struct VerifyReport {
  std::int64_t organizations = 0;
  std::int64_t records = 0;      // usage records read
  std::int64_t rollup_rows = 0;  // stored rollup rows compared (hourly and daily)
  std::int64_t items = 0;        // ItemInfo rows compared
  // One line per difference, at most the first kMaxDifferences, e.g.
  // "org-a: hourly rollup 2026-11-01T03:00:00Z d1 capacity sku=s kind=k: cost_nanos stored 5, expected 4".
  std::vector<std::string> differences;
  std::int64_t more_differences = 0;  // found beyond those listed
  bool clean() const { return differences.empty(); }
};

inline constexpr std::size_t kMaxDifferences = 100;

// Recomputes, per organization, everything the store derives from its raw usage and compares it
// with what the store holds: every hourly and daily rollup row (all measures; a missing or an
// extra row is a difference), every item (ItemInfo: the series' latest end, and the name, unit
// and rate of the record ending then, the later ingested on a tie), every deployment's name and
// type (those of its last record in ingest order), and the rate catalog (RangeReadResult::rates:
// every record's rate in it, nothing else, sorted by fingerprint). Also checks the records themselves: ids unique
// across the store, start < end, and cost = quantity × rate; and has the store check its id index
// (Store::VerifyIdIndex, lines prefixed "id index: "). The arithmetic is the ingest's own
// (ComputeIngestDelta), over every record in the order Store::ReadRange(plan.usage) gives.
//
// Each organization is read in two ReadRange calls (hourly rollups with items and usage, then
// daily rollups) whose data versions must agree; one that changes under the read three times
// in a row is a difference. Holds one organization's usage and every id of the store in memory.
// Fails only when the organizations cannot be listed (kStoreFailed); a read of one organization
// that fails is a difference naming it.
Result<VerifyReport> VerifyStore(Store& store);

}  // namespace costs::service
