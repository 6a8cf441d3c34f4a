#pragma once

// Per organization, one value read in a snapshot, kept with that snapshot's data version, so
// that a read at that version does not read it again (database-free: the caller passes the
// read). For what only an ingest changes, in the transaction that moves the organization's data
// version: a value read at version v is then the value of every snapshot at version v, in this
// process or after another's commit. At most kMaxOrgs values are kept (all are dropped when one
// more would exceed it). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/result.hpp"

namespace costs::store {

template <typename Value>
class VersionCache {
 public:
  static constexpr std::size_t kMaxOrgs = 4096;

  struct Held {
    std::int64_t version = 0;
    Value value;
  };

  // `org`'s value at `version`, which the caller read first in its current read snapshot;
  // `read()` -> Result<Value> reads it in that snapshot when not held (its error is returned).
  template <typename Read>
  Result<Value> Get(std::string_view org, std::int64_t version, Read&& read) {
    if (std::optional<Held> held = Peek(org); held && held->version == version) return std::move(held->value);
    Result<Value> fresh = read();
    if (!fresh) return std::move(fresh).error();
    Put(org, version, *fresh);
    return fresh;
  }
  // The value held for `org` with the version it was read at, if any.
  std::optional<Held> Peek(std::string_view org) {
    std::lock_guard lock(mu_);
    auto it = held_.find(std::string(org));
    return it != held_.end() ? std::optional<Held>(it->second) : std::nullopt;
  }
  // Keeps `value`, read in a snapshot at `version`, for `org`.
  void Put(std::string_view org, std::int64_t version, Value value) {
    std::lock_guard lock(mu_);
    if (held_.size() >= kMaxOrgs && held_.find(std::string(org)) == held_.end()) held_.clear();
    held_.insert_or_assign(std::string(org), Held{version, std::move(value)});
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Held> held_;  // GUARDED_BY(mu_)
};

}  // namespace costs::store
