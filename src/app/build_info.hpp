#pragma once

#include <string_view>

namespace costs::app {

// This build's version (CMake's COSTS_VERSION) and git commit (short hash at configure time;
// "unknown" outside a git checkout).
std::string_view CostsVersion();
std::string_view CostsCommit();

}  // namespace costs::app
