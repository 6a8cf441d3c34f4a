#pragma once

#include <cstdint>

#include "domain/time.hpp"
#include "service/costs_service.hpp"

namespace costs::app {

// Seeds demo organizations, deployments, users and usage: hourly capacity and daily
// data-transfer/storage records over the ~90 days up to `now`. Each record's content depends
// only on the seed and its id, so re-running it later stores only the hours that are new and
// counts the rest as duplicates. Prints the users' credentials and a curl line to try.
// Returns an exit code.
int RunDemo(service::AdminService& admin, domain::Instant now, std::uint64_t seed);

}  // namespace costs::app
