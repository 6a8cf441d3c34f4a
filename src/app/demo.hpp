#pragma once

#include <cstdint>

#include "domain/time.hpp"
#include "service/costs_service.hpp"

namespace costs::app {

// Seeds demo organizations, deployments, users and usage: hourly capacity and daily
// data-transfer/storage records over the ~90 days up to `now`, deterministic for a given
// (seed, now hour). Prints the users' credentials and a curl line to try. Re-running adds
// nothing twice (record ids are stable, so repeats are duplicates). Returns an exit code.
int RunDemo(service::AdminService& admin, domain::Instant now, std::uint64_t seed);

}  // namespace costs::app
