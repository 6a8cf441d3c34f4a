#include "domain/proration.hpp"

#include <algorithm>
#include <cassert>

namespace costs::domain {

Nanos Proration::CumulativeBefore(Instant t) const {
  assert(start < end);
  if (t <= start) return 0;
  if (t >= end) return cost;
  // |cost| < 2^63 and elapsed < 2^63: the product fits in 127 bits.
  const WideNanos elapsed = static_cast<WideNanos>(t.ns) - start.ns;
  const WideNanos duration = static_cast<WideNanos>(end.ns) - start.ns;
  return static_cast<Nanos>(DivideHalfEven(static_cast<WideNanos>(cost) * elapsed, duration));
}

Nanos Proration::PartIn(Instant a, Instant b) const {
  assert(a <= b);
  if (b <= start || a >= end) return 0;
  return CumulativeBefore(b) - CumulativeBefore(a);
}

void ForEachRollupPart(const Proration& p, RollupGrain grain,
                       const std::function<void(Instant period_start, Nanos part)>& emit) {
  const std::int64_t step = grain == RollupGrain::kHour ? kNsPerHour : kNsPerDay;
  Instant period = grain == RollupGrain::kHour ? FloorHour(p.start) : FloorDay(p.start);
  Nanos before = 0;  // C(period start), clamped
  while (period < p.end) {
    const Instant next{period.ns + step};
    const Nanos upto = p.CumulativeBefore(next);
    emit(period, upto - before);
    before = upto;
    period = next;
  }
}

}  // namespace costs::domain
