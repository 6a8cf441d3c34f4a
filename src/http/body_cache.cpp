#include "http/body_cache.hpp"

#include <cassert>
#include <functional>
#include <string_view>
#include <utility>

namespace costs::http {
namespace {

// boost::hash_combine's mixing step, widened to 64 bits.
void Mix(std::size_t& seed, std::size_t value) { seed ^= value + 0x9e3779b97f4a7c15ull + (seed << 12) + (seed >> 4); }

}  // namespace

std::size_t BodyKeyHash::operator()(const BodyKey& key) const noexcept {
  std::size_t seed = std::hash<std::string_view>{}(key.organization_id);
  Mix(seed, std::hash<std::string_view>{}(key.deployment_id));
  Mix(seed, std::hash<std::int64_t>{}(key.from_ns));
  Mix(seed, std::hash<std::int64_t>{}(key.to_ns));
  Mix(seed, std::hash<std::int64_t>{}(key.version));
  Mix(seed, static_cast<std::size_t>(key.variant) << 16 | static_cast<std::size_t>(key.endpoint) << 8 |
                static_cast<std::size_t>(key.strategy) << 4 | static_cast<std::size_t>(key.format));
  return seed;
}

BodyCache::BodyCache(Limits limits) : limits_(limits) {}

std::size_t BodyCache::ChargeOf(const BodyKey& key, const std::string& body) {
  return body.size() + key.organization_id.size() + key.deployment_id.size() + kEntryOverhead;
}

std::shared_ptr<const std::string> BodyCache::Find(const BodyKey& key) {
  std::lock_guard lock(mu_);
  const auto it = map_.find(key);
  if (it == map_.end()) {
    ++stats_.misses;
    return nullptr;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.body;
}

bool BodyCache::Insert(BodyKey key, std::shared_ptr<const std::string> body) {
  assert(body != nullptr);
  const std::size_t charge = ChargeOf(key, *body);
  if (charge > limits_.max_bytes / 8 || limits_.max_entries == 0) return false;

  std::lock_guard lock(mu_);
  ++stats_.insertions;
  auto [it, inserted] = map_.try_emplace(std::move(key));
  Slot& slot = it->second;
  if (inserted) {
    lru_.push_front(&it->first);
    slot.lru = lru_.begin();
    ++stats_.entries;
  } else {
    stats_.bytes -= slot.charge;
    lru_.splice(lru_.begin(), lru_, slot.lru);
  }
  slot.body = std::move(body);
  slot.charge = charge;
  stats_.bytes += charge;
  // The new entry is at the front and alone fits, so eviction stops before reaching it.
  while (stats_.bytes > limits_.max_bytes || stats_.entries > limits_.max_entries) EvictOne();
  return true;
}

void BodyCache::EvictOne() {
  assert(!lru_.empty());
  const auto it = map_.find(*lru_.back());
  assert(it != map_.end());
  stats_.bytes -= it->second.charge;
  --stats_.entries;
  ++stats_.evictions;
  lru_.pop_back();
  map_.erase(it);
}

BodyCache::Stats BodyCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace costs::http
