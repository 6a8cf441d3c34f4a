#pragma once

#include <functional>

#include "domain/money.hpp"
#include "domain/time.hpp"

namespace costs::domain {

// Spreads a cost over its period [start, end) in proportion to time.
//
// The share of the cost that lies before instant t is
//   C(t) = round_half_even(cost × (clamp(t) − start) / (end − start)),
// and the part inside [a, b) is C(b) − C(a). Because parts are differences of one cumulative
// function, the parts of any set of intervals that tile [start, end) sum to exactly `cost`:
// rounding never loses or invents a nano-ECU, whatever the bucketing.
struct Proration {
  Instant start;
  Instant end;  // REQUIRES: start < end
  Nanos cost;

  // C(t) as above; t is clamped to [start, end].
  Nanos CumulativeBefore(Instant t) const;
  // The part of the cost inside [a, b) (0 when they do not overlap). REQUIRES: a <= b.
  Nanos PartIn(Instant a, Instant b) const;
};

// Granularity of stored rollups.
enum class RollupGrain { kHour, kDay };

// Calls emit(period_start, part) for every UTC hour (or day) that [p.start, p.end) overlaps,
// in ascending order, with that period's part of the cost (parts may be zero; they always
// sum to p.cost).
void ForEachRollupPart(const Proration& p, RollupGrain grain,
                       const std::function<void(Instant period_start, Nanos part)>& emit);

}  // namespace costs::domain
