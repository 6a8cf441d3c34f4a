#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "domain/money.hpp"
#include "domain/usage.hpp"
#include "service/store.hpp"

namespace costs::service {

// An in-memory index of each organization's daily costs per (deployment, dimension), one
// snapshot per data version: a chart reads its whole days from here and only its partial
// edges from the store, so that the common chart (whole days) costs buckets × series in
// memory and one data-version read. Thread-safe.
//
// Memory is bounded: organizations are evicted least recently used first once the index
// holds more than its byte budget (one organization is always kept).
class ChartIndex {
 public:
  // The cost of one deployment in one billing dimension on one UTC day (never 0).
  struct Cell {
    std::uint32_t deployment = 0;  // index into OrgDays::deployments
    domain::Dimension dimension = domain::Dimension::kCapacity;
    domain::Nanos cost = 0;
  };
  // One organization as it stood at `version`.
  struct OrgDays {
    std::int64_t version = 0;
    // false when some day's sum for a (deployment, dimension) leaves int64 nano-ECU: such an
    // organization is not indexed (its charts read the store).
    bool indexed = true;
    std::vector<Deployment> deployments;   // with usage, sorted by id
    std::vector<std::int64_t> day_starts;  // ns of each UTC day that has cells, ascending
    std::vector<std::uint32_t> offsets;    // day i's cells: [offsets[i], offsets[i + 1])
    std::vector<Cell> cells;               // per day, sorted by (deployment, dimension)

    std::size_t Bytes() const;
  };

  static constexpr std::size_t kDefaultMaxBytes = std::size_t{64} << 20;

  explicit ChartIndex(Store& store, std::size_t max_bytes = kDefaultMaxBytes);

  // `org` at data version `version`: the held snapshot when it has that version, else one
  // loaded from the store. nullptr when the store's snapshot turns out to have another
  // version (a write landed after `version` was read) or the organization is not indexed:
  // the caller then reads the store itself. kStoreFailed when loading fails.
  Result<std::shared_ptr<const OrgDays>> Get(std::string_view org, std::int64_t version);

  // Bytes held now (for tests and metrics).
  std::size_t bytes() const;

 private:
  Result<std::shared_ptr<const OrgDays>> Load(std::string_view org);
  void Keep(std::string_view org, std::shared_ptr<const OrgDays> days);  // REQUIRES: mu_ held

  struct Slot {
    std::shared_ptr<const OrgDays> days;
    std::uint64_t last_use = 0;
  };

  Store& store_;
  const std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, Slot, std::less<>> orgs_;  // GUARDED_BY(mu_)
  std::uint64_t tick_ = 0;                         // GUARDED_BY(mu_)
  std::size_t bytes_ = 0;                          // GUARDED_BY(mu_)
};

}  // namespace costs::service
