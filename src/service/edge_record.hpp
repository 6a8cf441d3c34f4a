#pragma once

// Making service::EdgeRecord (a record of an edge read, Store::ReadEdges) from a record's
// measures.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "domain/money.hpp"
#include "domain/time.hpp"
#include "service/store.hpp"

namespace costs::service {

// The rate fingerprints of one read's records, each distinct rate's computed once (a
// DecimalFingerprint formats the rate; a read meets few rates).
class RateFingerprints {
 public:
  std::int64_t Of(const domain::Decimal& rate) {
    for (const auto& [seen, fingerprint] : seen_) {
      if (seen == rate) return fingerprint;
    }
    const std::int64_t fingerprint = domain::DecimalFingerprint(rate);
    if (seen_.size() < kMaxKept) seen_.emplace_back(rate, fingerprint);
    return fingerprint;
  }

 private:
  static constexpr std::size_t kMaxKept = 32;
  std::vector<std::pair<domain::Decimal, std::int64_t>> seen_;
};

// A record of series `series` over [start, end); nullopt when `quantity` does not fit int64
// thousandths (domain::ValidateUsage refuses such a record: a stored one is corrupt).
inline std::optional<EdgeRecord> EdgeRecordOf(std::uint32_t series, bool trial, domain::Instant start,
                                              domain::Instant end, const domain::Decimal& quantity,
                                              std::int64_t rate_fingerprint, domain::Nanos cost,
                                              std::int64_t instance_count) {
  Result<std::int64_t> quantity_milli = domain::ToScaled(quantity, 3);
  if (!quantity_milli) return std::nullopt;
  return EdgeRecord{series,           trial, quantity.mantissa > 0, start, end, *quantity_milli,
                    rate_fingerprint, cost,  instance_count};
}

}  // namespace costs::service
