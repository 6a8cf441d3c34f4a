#pragma once

#include <string>
#include <string_view>

namespace costs::app {

// This build's version, the CMake project version ("0.1.0"), and the git commit it was built
// from (12 hex digits, "-dirty" when tracked files had uncommitted changes; "unknown" when built
// outside git). Written at build time by cmake/version_info.cmake.
extern const char* const kVersion;
extern const char* const kCommit;

// What --version prints: "costsd 0.1.0 (commit 1a2b3c4d5e6f)".
std::string VersionLine(std::string_view program);

}  // namespace costs::app
