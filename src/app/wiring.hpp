#pragma once

#include <memory>
#include <string_view>

#include "app/options.hpp"
#include "common/result.hpp"
#include "service/ports.hpp"
#include "service/store.hpp"

namespace costs::app {

// The real clock: wall time (UTC) and a monotonic clock.
class SystemClock final : public service::Clock {
 public:
  domain::Instant Now() const override;
  std::int64_t MonotonicNs() const override;
};

// Opens the store named by a --db URL (sqlite:PATH or postgresql://...) with `options`, and
// migrates it to the current schema. kInvalidData for a bad URL; kStoreFailed.
Result<std::unique_ptr<service::Store>> OpenStore(std::string_view db_url, const StoreOptions& options = {});

}  // namespace costs::app
