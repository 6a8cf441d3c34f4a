#pragma once

#include <memory>
#include <string_view>

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

// Opens the store named by a --db URL and migrates it to the current schema.
// kInvalidData for a bad URL or an engine this build does not have; kStoreFailed.
Result<std::unique_ptr<service::Store>> OpenStore(std::string_view db_url);

}  // namespace costs::app
