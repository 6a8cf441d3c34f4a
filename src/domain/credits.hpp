#pragma once

// The credit-consumption rule: how prepaid credits pay for usage, which gives an
// organization's balance. Pure: no I/O, no clock.

#include <span>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "domain/time.hpp"

namespace costs::domain {

// A prepaid credit as the rule sees it: `amount` nano-ECU (> 0) valid over [start, end) UTC.
struct CreditGrant {
  std::string_view id;  // unique per organization; orders credits expiring together
  Nanos amount = 0;
  Instant start;
  Instant end;
};

// The net cost (nano-ECU; negative for a correction) of the usage whose pieces start at `at`.
struct UsageAt {
  Instant at;
  WideNanos amount = 0;
};

// What is left of each credit (same order as `credits`) after `usage`, taken in time order:
// - usage at `at` is paid by the credits valid at `at` (start <= at < end), the credit expiring
//   first (then the smaller id) first, each down to zero; what none pays for is overage;
// - a correction (negative amount) first cancels overage, then gives back to the credits valid
//   at `at` in the same order, each up to its amount.
// Each piece of usage must lie within one interval between credit boundaries (the caller cuts
// its reads at every credit's start and end), so the credits valid at its start pay for all
// of it. REQUIRES: `usage` sorted by `at`, at most one entry per instant.
std::vector<WideNanos> ConsumeCredits(std::span<const CreditGrant> credits, std::span<const UsageAt> usage);

}  // namespace costs::domain
