#pragma once

#include <string>
#include <vector>

#include "app/options.hpp"

namespace costs::app {

// The effective configuration of `flags` as a TOML file a --config could read again: one line per
// key of `specs` (the flags with from_env, but "config"), in the table's order, each with where its
// value came from ("flag --x", "environment COSTS_X", "FILE:LINE"); a key left at its default is a
// comment naming the default. Secrets are "***" (RedactFlagValue).
std::string FormatConfig(const Flags& flags, const std::vector<Flags::Spec>& specs);

}  // namespace costs::app
