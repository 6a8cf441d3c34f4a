#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/options.hpp"
#include "common/result.hpp"
#include "http/server.hpp"

namespace costs::app {

// Raises this process's soft limit of open files (RLIMIT_NOFILE) to its hard limit and returns
// the soft limit in force afterwards (unchanged when it cannot be raised).
std::uint64_t RaiseOpenFileLimit();

// The flags below, as Flags::Spec entries for costsd.
std::vector<Flags::Spec> ConnectionFlagSpecs();

// Sets the connection limits of `options` from the flags:
//   --max-connections N             default: open_files - 2 x store_pool - 64 (at least 16), so
//                                   that accepting never runs the process out of descriptors
//                                   (the store's connections and files need theirs)
//   --max-connections-per-address N default 256 (trusted proxies are exempt)
//   --keep-alive-timeout SECONDS    default 5: how long an idle connection waits for a request
// kInvalidData (a message for humans) for a value out of range.
Status ConnectionOptionsFromFlags(const Flags& flags, std::uint64_t open_files, int store_pool,
                                  http::ServerOptions& options);

}  // namespace costs::app
