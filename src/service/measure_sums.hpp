#pragma once

// Summing rollup measures in place, for any cell of a rollup row's shape (service::EdgeRow, the
// stores' hourly cells): cost, trial_cost, quantity_milli and usage_ns add; max_instance_count and
// the rate fingerprints keep their extremes.

#include <algorithm>

namespace costs::service {

// `cell`'s measures added into `run`; false, with `run` unchanged, when a sum would leave int64.
template <class Cell>
bool AddMeasuresInto(Cell& run, const Cell& cell) {
  Cell sum = run;
  if (__builtin_add_overflow(run.cost, cell.cost, &sum.cost) ||
      __builtin_add_overflow(run.trial_cost, cell.trial_cost, &sum.trial_cost) ||
      __builtin_add_overflow(run.quantity_milli, cell.quantity_milli, &sum.quantity_milli) ||
      __builtin_add_overflow(run.usage_ns, cell.usage_ns, &sum.usage_ns)) {
    return false;
  }
  sum.max_instance_count = std::max(run.max_instance_count, cell.max_instance_count);
  sum.rate_fingerprint_min = std::min(run.rate_fingerprint_min, cell.rate_fingerprint_min);
  sum.rate_fingerprint_max = std::max(run.rate_fingerprint_max, cell.rate_fingerprint_max);
  run = sum;
  return true;
}

}  // namespace costs::service
