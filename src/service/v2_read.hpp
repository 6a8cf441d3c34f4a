#pragma once

#include <vector>

#include "domain/range.hpp"
#include "domain/time.hpp"
#include "service/store.hpp"

namespace costs::service {

// What a v2 cost operation read (CostsService::ReadV2): the range planned as v1 plans it, with
// the item catalog and the rate catalog, and — for the days whose daily rollup rows say several
// rates applied — those days again by the hour (refined), from the same data version, so that
// rate segments start and end at the hour the rate changed.
struct V2Read {
  domain::TimeRange range;
  RangeReadPlan plan;
  RangeReadResult read;
  RangeReadPlan refined;                    // hourly windows of the mixed days
  RangeReadResult refined_read;             // empty when no day was mixed
  std::vector<domain::Instant> mixed_days;  // ascending: their daily rows are replaced by the refined hours
  bool product_family = false;              // serverless_group_by=product_family
};

}  // namespace costs::service
