#include "domain/chart.hpp"

#include <cassert>

namespace costs::domain {

ChartBuilder::ChartBuilder(std::vector<Bucket> buckets) : buckets_(std::move(buckets)), sums_(buckets_.size()) {
  assert(!buckets_.empty());
}

void ChartBuilder::Add(Instant at, std::string_view id, Nanos cost) {
  if (at < buckets_.front().start || at >= buckets_.back().end) {
    assert(false && "cost piece outside the chart's buckets");
    return;
  }
  auto& sums = sums_[BucketIndex(buckets_, at)];
  auto it = sums.find(id);
  if (it == sums.end()) it = sums.emplace(std::string(id), 0).first;
  it->second += cost;
}

void ChartBuilder::Name(std::string_view id, std::string_view name) {
  auto it = names_.find(id);
  if (it == names_.end()) {
    names_.emplace(std::string(id), std::string(name));
  } else {
    it->second.assign(name);
  }
}

Result<Chart> ChartBuilder::Build() const {
  Chart chart;
  chart.buckets.reserve(buckets_.size());
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    ChartBucket& out = chart.buckets.emplace_back();
    out.start = buckets_[i].start;
    for (const auto& [id, wide] : sums_[i]) {  // std::map: already sorted by id
      if (wide == 0) continue;
      auto narrow = NarrowNanos(wide);
      if (!narrow) return MakeError(ErrorCode::kInternal, "a chart value is out of range");
      auto name = names_.find(id);
      out.values.push_back(ChartValue{id, name == names_.end() ? id : name->second, *narrow});
    }
  }
  return chart;
}

}  // namespace costs::domain
