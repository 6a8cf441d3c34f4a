#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "domain/range.hpp"

namespace costs::domain {

// A series of a chart: a deployment (id, name) or a billing dimension (id, display name).
struct ChartSeries {
  std::string id;
  std::string name;
  friend bool operator==(const ChartSeries&, const ChartSeries&) = default;
};

// One plotted value: a series (an index into Chart::series) and its cost in a bucket, an
// exact 128-bit sum of int64 pieces (a month of large costs may exceed int64 nano-ECU).
struct ChartValue {
  std::uint32_t series = 0;
  WideNanos cost = 0;
  friend bool operator==(const ChartValue&, const ChartValue&) = default;
};

struct ChartBucket {
  Instant start;                   // the bucket's start, UTC
  std::vector<ChartValue> values;  // non-zero costs only, sorted by series id
};

struct Chart {
  std::vector<ChartSeries> series;   // every series a value refers to (and maybe more)
  std::vector<ChartBucket> buckets;  // one per bucket, ascending, empty buckets included
  const ChartSeries& SeriesOf(const ChartValue& v) const { return series[v.series]; }
};

// Accumulates cost pieces into buckets and series, exactly (128-bit sums).
// Series are declared (AddSeries) or found by id (Add with an id); pieces of a declared
// series are added by index, with no lookup. Not thread-safe.
class ChartBuilder {
 public:
  // REQUIRES: buckets non-empty, ascending, contiguous (as BucketsFor makes them).
  explicit ChartBuilder(std::vector<Bucket> buckets);

  // Declares series `id` named `name` and returns its index (the index it already has if it
  // was declared or added before; then the name is replaced).
  std::uint32_t AddSeries(std::string_view id, std::string_view name);

  // The index of the bucket containing `at`. REQUIRES: `at` inside the buckets' span.
  std::size_t BucketOf(Instant at) const { return BucketIndex(buckets_, at); }

  // Adds `cost` to series `series` (an index from AddSeries) in bucket `bucket`.
  void AddAt(std::size_t bucket, std::uint32_t series, Nanos cost);

  // Adds `cost` to series `id` in the bucket containing `at`. Pieces outside the buckets'
  // span are a caller bug (asserted, ignored in release builds).
  void Add(Instant at, std::string_view id, Nanos cost);

  // Names series `id` (last call wins); a series without a name is shown by its id.
  void Name(std::string_view id, std::string_view name) { AddSeries(id, name); }

  // The chart: every bucket, non-zero values sorted by series id, each the exact 128-bit sum
  // of its pieces. Never fails today (a Result so that a future limit can).
  Result<Chart> Build() const;

  const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  struct Sum {
    std::uint32_t series;
    WideNanos cost;
  };
  std::uint32_t SeriesIndex(std::string_view id);

  std::vector<Bucket> buckets_;
  std::vector<ChartSeries> series_;
  std::map<std::string, std::uint32_t, std::less<>> index_;  // id -> position in series_
  std::vector<std::vector<Sum>> sums_;                       // per bucket, in the order pieces came (merged at Build)
};

}  // namespace costs::domain
