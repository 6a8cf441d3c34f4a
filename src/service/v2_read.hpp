#pragma once

#include "domain/range.hpp"
#include "domain/time.hpp"
#include "service/store.hpp"

namespace costs::service {

// What a v2 cost operation read (CostsService::ReadV2), in one snapshot: the range planned as
// v1 plans it, except that the days whose daily rollup rows say several rates applied are
// planned by the hour (so that rate segments start and end at the hour the rate changed), with
// the item and rate catalogs.
struct V2Read {
  domain::TimeRange range;
  RangeReadPlan plan;
  RangeReadResult read;
  bool product_family = false;  // serverless_group_by=product_family
};

}  // namespace costs::service
