#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "domain/range.hpp"
#include "http/accept.hpp"
#include "http/router.hpp"

namespace costs::http {

// What a successful body of a range endpoint is a function of (DESIGN.md, "Performance model"):
// the endpoint, whose data, the resolved range, the strategy, the v2 option, the representation,
// and the organization's data version read before the data (CostsService::PrepareRead,
// PrepareReadV2). The caller's
// identity is not part of it: authorization is checked per request, before the cache.
struct BodyKey {
  Endpoint endpoint = Endpoint::kOrganizationCharts;
  std::string organization_id;
  std::string deployment_id;  // empty on the endpoints without one
  std::int64_t from_ns = 0;   // the resolved range [from, to), UTC nanoseconds
  std::int64_t to_ns = 0;
  domain::BucketingStrategy strategy = domain::BucketingStrategy::kDaily;  // kDaily off the charts
  Format format = Format::kJson;
  std::int64_t version = 0;  // Store::DataVersion of the organization
  // The v2 option that changes the body, normalized (BodyVariantOf, v2_query.hpp): the
  // serverless_group_by of costs/items, the instance_type of an instance's charts; 0 elsewhere.
  std::uint8_t variant = 0;

  friend bool operator==(const BodyKey&, const BodyKey&) = default;
};

struct BodyKeyHash {
  std::size_t operator()(const BodyKey& key) const noexcept;
};

// A bounded cache of rendered response bodies, shared rather than copied: a hit hands out the
// same immutable bytes to every response, which the session writes without copying them.
// Thread-safe (one mutex; every operation under it is O(1) and allocation-free but Insert's).
//
// Eviction is least recently used, bounded by the total bytes charged (a body's size, its
// key's strings and a fixed overhead per entry) and by the number of entries. Bodies of an
// organization's older data versions are never asked for again (versions only move forward)
// and age out the same way.
class BodyCache {
 public:
  struct Limits {
    std::size_t max_bytes = 64u << 20;  // total charged bytes
    std::size_t max_entries = 16384;
  };
  // Bytes charged per entry on top of its body and key strings (nodes, control block).
  static constexpr std::size_t kEntryOverhead = 256;

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t insertions = 0;
    std::uint64_t evictions = 0;  // entries dropped to make room (not replacements)
    std::size_t entries = 0;
    std::size_t bytes = 0;  // charged, <= Limits::max_bytes
  };

  BodyCache() : BodyCache(Limits{}) {}
  explicit BodyCache(Limits limits);

  BodyCache(const BodyCache&) = delete;
  BodyCache& operator=(const BodyCache&) = delete;

  // The body stored under `key` (and it becomes the most recently used), or nullptr.
  std::shared_ptr<const std::string> Find(const BodyKey& key);

  // Stores `body` under `key`, replacing what was there, and evicts least recently used
  // entries until the limits hold again. A body whose charge exceeds an eighth of max_bytes
  // is not stored (it would flush much of the cache): returns false then, else true.
  // REQUIRES: body != nullptr.
  bool Insert(BodyKey key, std::shared_ptr<const std::string> body);

  Stats stats() const;
  const Limits& limits() const { return limits_; }

 private:
  struct Slot {
    std::shared_ptr<const std::string> body;
    std::size_t charge = 0;
    std::list<const BodyKey*>::iterator lru;  // its node in lru_
  };
  using Map = std::unordered_map<BodyKey, Slot, BodyKeyHash>;

  static std::size_t ChargeOf(const BodyKey& key, const std::string& body);
  // Drops the least recently used entry. REQUIRES: mu_ held, !lru_.empty().
  void EvictOne();

  const Limits limits_;
  mutable std::mutex mu_;
  Map map_;                        // GUARDED_BY(mu_)
  std::list<const BodyKey*> lru_;  // GUARDED_BY(mu_); keys of map_'s nodes, most recent first
  Stats stats_;                    // GUARDED_BY(mu_)
};

}  // namespace costs::http
