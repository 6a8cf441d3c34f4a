#pragma once

// The last step of both stores' edge reads of raw usage (Store::ReadEdges): the measures of the
// chunk records overlapping a window, put in the order ReadRange gives the same records, or the
// records an hour's whole-record cells hold, turned into service::EdgeRecord.

#include <algorithm>
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

#include "common/result.hpp"
#include "service/edge_record.hpp"
#include "service/store.hpp"
#include "store/common/packed_reads.hpp"
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
Status AppendEdgeRecords(std::vector<BatchMeasures>& found, const RankOf& rank_of, const LogSink& log,
                         std::vector<service::EdgeRecord>& out) {
  std::sort(found.begin(), found.end(), [](const BatchMeasures& a, const BatchMeasures& b) {
    return std::tie(a.m.start, a.batch, a.m.ordinal) < std::tie(b.m.start, b.batch, b.m.ordinal);
  });
  out.reserve(out.size() + found.size());
  service::RateFingerprints rates;
  for (const BatchMeasures& f : found) {
    Result<std::uint32_t> rank = rank_of(f.m.series_id);
    if (!rank) return std::move(rank).error();
    std::optional<service::EdgeRecord> record =
        service::EdgeRecordOf(*rank, f.m.trial, domain::Instant{f.m.start}, domain::Instant{f.m.end}, f.m.quantity,
                              rates.Of(f.m.rate), f.m.cost_nanos, f.m.instance_count);
    if (!record) return Malformed(log, "usage record (its quantity leaves int64 thousandths)");
    out.push_back(*record);
  }
  return {};
}

// The records of whole-record cells (AppendWholeRecordCells) appended to `out`, each naming its
// series by rank_of(series id) -> Result<std::uint32_t> (its error is returned): the record over
// the cell's hour or day whose measures are the cell's.
template <typename RankOf>
Status AppendWholeRecords(std::span<const SeriesCell> cells, const RankOf& rank_of,
                          std::vector<service::EdgeRecord>& out) {
  out.reserve(out.size() + cells.size());
  for (const SeriesCell& cell : cells) {
    Result<std::uint32_t> rank = rank_of(cell.series_id);
    if (!rank) return std::move(rank).error();
    const HourCell& m = cell.measures;
    const std::int64_t length =
        m.records == service::IngestDelta::Sums::Records::kOneWholeDay ? domain::kNsPerDay : domain::kNsPerHour;
    out.push_back(service::EdgeRecord{*rank, m.trial_cost != 0, m.usage_ns > 0, domain::Instant{cell.period_ns},
                                      domain::Instant{cell.period_ns + length}, m.quantity_milli,
                                      m.rate_fingerprint_min, m.cost, m.max_instance_count});
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
