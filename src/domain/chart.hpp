#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"
#include "domain/range.hpp"

namespace costs::domain {

// One plotted value: a series (deployment or dimension) and its cost in a bucket.
struct ChartValue {
  std::string id;
  std::string name;
  Nanos cost = 0;
  friend bool operator==(const ChartValue&, const ChartValue&) = default;
};

struct ChartBucket {
  Instant start;  // the bucket's start, UTC
  std::vector<ChartValue> values;  // non-zero costs only, sorted by id
};

struct Chart {
  std::vector<ChartBucket> buckets;  // one per bucket, ascending, empty buckets included
};

// Accumulates cost pieces into buckets and series, exactly (128-bit sums).
// Not thread-safe.
class ChartBuilder {
 public:
  // REQUIRES: buckets non-empty, ascending, contiguous (as BucketsFor makes them).
  explicit ChartBuilder(std::vector<Bucket> buckets);

  // Adds `cost` to series `id` in the bucket containing `at`. Pieces outside the buckets'
  // span are a caller bug (asserted, ignored in release builds).
  void Add(Instant at, std::string_view id, Nanos cost);

  // Names series `id` (last call wins); a series without a name is shown by its id.
  void Name(std::string_view id, std::string_view name);

  // The chart: every bucket, non-zero values sorted by id. Fails (kInternal) only if a
  // bucket's sum for one series overflows int64 nano-ECU.
  Result<Chart> Build() const;

  const std::vector<Bucket>& buckets() const { return buckets_; }

 private:
  std::vector<Bucket> buckets_;
  std::vector<std::map<std::string, WideNanos, std::less<>>> sums_;  // per bucket
  std::map<std::string, std::string, std::less<>> names_;
};

}  // namespace costs::domain
