#pragma once
// A benchmark's setting: --NAME=VALUE on its command line (which Google Benchmark leaves alone),
// else the environment variable `env`.
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace costs::bench {

inline std::optional<std::string> Setting(int argc, char** argv, std::string_view flag, const char* env) {
  const std::string prefix = "--" + std::string(flag) + "=";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with(prefix)) return std::string(a.substr(prefix.size()));
  }
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return std::string(v);
  return std::nullopt;
}

}  // namespace costs::bench
