#include "domain/chart.hpp"

#include <algorithm>
#include <cassert>

namespace costs::domain {

ChartBuilder::ChartBuilder(std::vector<Bucket> buckets) : buckets_(std::move(buckets)), sums_(buckets_.size()) {
  assert(!buckets_.empty());
}

std::uint32_t ChartBuilder::SeriesIndex(std::string_view id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(series_.size());
  series_.push_back(ChartSeries{std::string(id), std::string(id)});
  index_.emplace(std::string(id), index);
  return index;
}

std::uint32_t ChartBuilder::AddSeries(std::string_view id, std::string_view name) {
  const std::uint32_t index = SeriesIndex(id);
  series_[index].name.assign(name);
  return index;
}

void ChartBuilder::AddAt(std::size_t bucket, std::uint32_t series, Nanos cost) {
  std::vector<Sum>& sums = sums_[bucket];
  // Pieces of one series tend to come together (a day's cells are sorted by series): merge
  // them on the spot.
  if (!sums.empty() && sums.back().series == series) {
    sums.back().cost += cost;
  } else {
    sums.push_back(Sum{series, cost});
  }
}

void ChartBuilder::Add(Instant at, std::string_view id, Nanos cost) {
  if (at < buckets_.front().start || at >= buckets_.back().end) {
    assert(false && "cost piece outside the chart's buckets");
    return;
  }
  AddAt(BucketOf(at), SeriesIndex(id), cost);
}

Result<Chart> ChartBuilder::Build() const {
  // rank[i]: the position of series i in id order (index_ iterates sorted by id).
  std::vector<std::uint32_t> rank(series_.size());
  std::uint32_t next = 0;
  for (const auto& entry : index_) rank[entry.second] = next++;

  Chart chart;
  chart.series = series_;
  chart.buckets.reserve(buckets_.size());
  std::vector<Sum> merged;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    ChartBucket& out = chart.buckets.emplace_back();
    out.start = buckets_[i].start;
    const std::vector<Sum>& sums = sums_[i];
    if (sums.empty()) continue;
    auto by_rank = [&](const Sum& a, const Sum& b) { return rank[a.series] < rank[b.series]; };
    const std::vector<Sum>* ordered = &sums;
    if (!std::is_sorted(sums.begin(), sums.end(), by_rank)) {
      merged = sums;
      std::stable_sort(merged.begin(), merged.end(), by_rank);
      ordered = &merged;
    }
    out.values.reserve(ordered->size());
    for (std::size_t j = 0; j < ordered->size();) {
      const std::uint32_t series = (*ordered)[j].series;
      WideNanos sum = 0;
      for (; j < ordered->size() && (*ordered)[j].series == series; ++j) sum += (*ordered)[j].cost;
      if (sum != 0) out.values.push_back(ChartValue{series, sum});
    }
  }
  return chart;
}

}  // namespace costs::domain
