#pragma once

#include "domain/range.hpp"
#include "domain/time.hpp"
#include "service/instance_costs.hpp"
#include "service/store.hpp"

namespace costs::service {

// A v2 operation's query, validated (CostsService::ValidateV2); what an operation does not take
// keeps its default.
struct V2Params {
  domain::TimeRange range;
  domain::BucketingStrategy strategy = domain::BucketingStrategy::kDaily;
  ServerlessGroupBy group_by = ServerlessGroupBy::kProduct;
  InstanceTypeFilter filter = InstanceTypeFilter::kAll;
};

// What a v2 cost operation read (CostsService::ReadV2), in one snapshot: the range planned as
// v1 plans it, except that the days whose daily rollup rows say several rates applied are
// planned by the hour (so that rate segments start and end at the hour the rate changed), with
// the item and rate catalogs.
struct V2Read {
  V2Params params;
  RangeReadPlan plan;
  RangeReadResult read;
};

}  // namespace costs::service
