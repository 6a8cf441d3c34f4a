#include "domain/credits.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <tuple>

namespace costs::domain {

std::vector<WideNanos> ConsumeCredits(std::span<const CreditGrant> credits, std::span<const UsageAt> usage) {
  std::vector<WideNanos> left(credits.size());
  for (std::size_t i = 0; i < credits.size(); ++i) left[i] = credits[i].amount;
  // The order in which credits pay: the one expiring first, then by id.
  std::vector<std::size_t> order(credits.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(credits[a].end, credits[a].id) < std::tie(credits[b].end, credits[b].id);
  });
  WideNanos overage = 0;  // usage no credit paid for
  for (UsageAt piece : usage) {
    WideNanos amount = piece.amount;
    if (amount < 0) {
      // A correction first cancels usage that no credit paid for, then gives back.
      const WideNanos cancel = std::min(-amount, overage);
      overage -= cancel;
      amount += cancel;
    }
    for (std::size_t i : order) {
      if (amount == 0) break;
      const CreditGrant& c = credits[i];
      if (!(c.start <= piece.at && piece.at < c.end)) continue;
      if (amount > 0) {
        const WideNanos take = std::min(amount, left[i]);
        left[i] -= take;
        amount -= take;
      } else {
        const WideNanos give = std::min(-amount, static_cast<WideNanos>(c.amount) - left[i]);
        left[i] += give;
        amount += give;
      }
    }
    if (amount > 0) overage += amount;
  }
  return left;
}

}  // namespace costs::domain
