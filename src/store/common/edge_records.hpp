#pragma once

// The last step of both stores' edge reads of raw usage (Store::ReadEdges): the measures of the
// chunk records overlapping a window, put in the order ReadRange gives the same records and
// turned into service::EdgeRecord.

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

#include "common/result.hpp"
#include "service/store.hpp"
#include "store/common/usage_codec.hpp"

namespace costs::store {

// A record's measures with the batch of its chunk.
struct BatchMeasures {
  std::int64_t batch = 0;
  ChunkMeasures m;
};

// Appends `found` to `out` ordered by (start, batch, ordinal), which is unique, each record
// naming its series by rank_of(series id) -> Result<std::uint32_t> (its error is returned).
template <typename RankOf>
Status AppendEdgeRecords(std::vector<BatchMeasures>& found, const RankOf& rank_of,
                         std::vector<service::EdgeRecord>& out) {
  std::sort(found.begin(), found.end(), [](const BatchMeasures& a, const BatchMeasures& b) {
    return std::tie(a.m.start, a.batch, a.m.ordinal) < std::tie(b.m.start, b.batch, b.m.ordinal);
  });
  out.reserve(out.size() + found.size());
  for (const BatchMeasures& f : found) {
    Result<std::uint32_t> rank = rank_of(f.m.series_id);
    if (!rank) return std::move(rank).error();
    out.push_back(service::EdgeRecord{*rank, f.m.trial, domain::Instant{f.m.start}, domain::Instant{f.m.end},
                                      f.m.quantity, f.m.rate, f.m.cost_nanos, f.m.instance_count});
  }
  return {};
}

// AppendEdgeRecords' rank_of over a store's series map: the rank of the series FindSeries(c,
// series, id) finds (the store's own FindSeries, found by argument-dependent lookup).
template <typename Connection, typename SeriesMap>
auto SeriesRanks(Connection& c, const SeriesMap& series) {
  return [&c, &series](std::int64_t id) -> Result<std::uint32_t> {
    auto info = FindSeries(c, series, id);
    if (!info) return std::move(info).error();
    return static_cast<std::uint32_t>((*info)->rank);
  };
}

}  // namespace costs::store
