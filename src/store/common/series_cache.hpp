#pragma once

// The series maps of organizations, each kept with the data version of the snapshot it was read
// in (VersionCache), so that a read at that version does not read every series of the
// organization again (shared by the SQLite and PostgreSQL stores). Series are created only by
// an ingest that stores a record of them, which moves the organization's data version in the
// same transaction. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "service/store.hpp"
#include "store/common/version_cache.hpp"

namespace costs::store {

template <typename Map>
class SeriesCache {
 public:
  // `org`'s series at `version`, which the caller read first in its current read snapshot;
  // `read()` -> Result<Map> reads them in that snapshot when not held (its error is returned).
  template <typename Read>
  Result<std::shared_ptr<const Map>> Get(std::string_view org, std::int64_t version, Read&& read) {
    Result<Held> held = GetHeld(org, version, std::forward<Read>(read));
    if (!held) return std::move(held).error();
    return std::move(held->series);
  }

  struct Held {
    std::int64_t version = 0;
    std::shared_ptr<const Map> series;
    // The series by rank as a service::EdgeRead names them (views into *series, which this
    // keeps alive); null when the ranks are not 0 .. size - 1 (stored data is corrupt).
    std::shared_ptr<const std::vector<service::EdgeSeries>> by_rank;
  };
  // As Get, with the series by rank.
  template <typename Read>
  Result<Held> GetHeld(std::string_view org, std::int64_t version, Read&& read) {
    if (Held held = Peek(org); held.series != nullptr && held.version == version) return held;
    Result<Map> fresh = read();
    if (!fresh) return std::move(fresh).error();
    return Put(org, version, std::make_shared<const Map>(std::move(*fresh)));
  }
  // The map held for `org` with the version it was read at (series null when none is held), for
  // a caller that asks its snapshot for the series only when its version differs.
  Held Peek(std::string_view org) {
    std::optional<typename VersionCache<Held>::Held> held = held_.Peek(org);
    return held ? std::move(held->value) : Held{};
  }
  // Keeps `series`, read in a snapshot at `version`, for `org`; returns it as held.
  Held Put(std::string_view org, std::int64_t version, std::shared_ptr<const Map> series) {
    Held held = HeldOf(version, std::move(series));
    held_.Put(org, version, held);
    return held;
  }

 private:
  // `series` at `version` with its series by rank.
  static Held HeldOf(std::int64_t version, std::shared_ptr<const Map> series) {
    struct Ranked {
      std::shared_ptr<const Map> map;
      std::vector<service::EdgeSeries> by_rank;
    };
    auto ranked = std::make_shared<Ranked>(Ranked{series, std::vector<service::EdgeSeries>(series->size())});
    for (const auto& [id, info] : *series) {
      if (info.rank < 0 || static_cast<std::size_t>(info.rank) >= series->size()) return Held{version, series, nullptr};
      ranked->by_rank[static_cast<std::size_t>(info.rank)] =
          service::EdgeSeries{info.deployment_id, info.dimension, info.sku, info.kind};
    }
    // Ranks order the series by deployment id first: a deployment's series are consecutive.
    std::uint32_t deployment = 0;
    for (std::size_t i = 1; i < ranked->by_rank.size(); ++i) {
      if (ranked->by_rank[i].deployment_id != ranked->by_rank[i - 1].deployment_id) ++deployment;
      ranked->by_rank[i].deployment = deployment;
    }
    // Aliasing: the vector keeps the map its views point into alive.
    return Held{version, std::move(series),
                std::shared_ptr<const std::vector<service::EdgeSeries>>(ranked, &ranked->by_rank)};
  }

  VersionCache<Held> held_;
};

}  // namespace costs::store
