#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "domain/range.hpp"
#include "service/instance_costs.hpp"

namespace costs::service {

// An organization's rate catalog (RangeReadResult::rates) by fingerprint, each fingerprint
// computed once. Views the rates: they must outlive it.
class RateCatalog {
 public:
  explicit RateCatalog(const std::vector<domain::Decimal>& rates);
  // The rate with this DecimalFingerprint, or null.
  const domain::Decimal* Find(std::int64_t fingerprint) const;

 private:
  std::vector<std::pair<std::int64_t, const domain::Decimal*>> by_fingerprint_;  // sorted
};

// One piece of a product line's usage: a rollup row over its hour or day, or the records of
// one partial-hour edge, with the smallest and largest DecimalFingerprint of the rates in it
// (equal when one rate applied).
struct RatePiece {
  domain::TimeRange window;
  domain::WideNanos cost = 0;
  domain::WideNanos quantity_milli = 0;
  std::int64_t fingerprint_min = 0;
  std::int64_t fingerprint_max = 0;
};

// The usage of one product line (of an instance, or of a product's instances merged) as
// pieces, and its totals.
class LineUsage {
 public:
  void Add(const RatePiece& piece);
  // Adds every piece of `other` (another instance's line of the same product).
  void Merge(const LineUsage& other);

  domain::WideNanos cost() const { return cost_; }
  domain::WideNanos quantity_milli() const { return quantity_milli_; }
  // The smallest and largest rate fingerprint of its pieces (equal when one rate applied).
  std::int64_t fingerprint_min() const { return fingerprint_min_; }
  std::int64_t fingerprint_max() const { return fingerprint_max_; }

  // The rate segments (RateSegment) of the line within `range`: pieces of one window are
  // combined first, then consecutive windows with the same rate (the same fingerprint pair)
  // form one segment. Orders and combines the pieces in place (Add after it is allowed: the
  // totals are unchanged).
  std::vector<RateSegment> Segments(const domain::TimeRange& range, const RateCatalog& rates);

 private:
  domain::WideNanos cost_ = 0;
  domain::WideNanos quantity_milli_ = 0;
  std::int64_t fingerprint_min_ = INT64_MAX;
  std::int64_t fingerprint_max_ = INT64_MIN;
  std::vector<RatePiece> pieces_;
};

// cost ÷ quantity in ECU per unit, half-even to nano-ECU, as exact decimal text; "0" without
// quantity.
std::string CostPerUnitText(domain::WideNanos cost, domain::WideNanos quantity_milli);

// The rate text of usage with cost `cost` and quantity `quantity_milli`: the catalog's rate when
// one rate (fingerprint_min == fingerprint_max) applied and the catalog has it, else
// cost ÷ quantity half-even to nano-ECU ("0" without quantity).
std::string RateText(domain::WideNanos cost, domain::WideNanos quantity_milli, std::int64_t fingerprint_min,
                     std::int64_t fingerprint_max, const RateCatalog& rates);

}  // namespace costs::service
