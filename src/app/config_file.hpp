#pragma once

#include <string>
#include <vector>

#include "app/options.hpp"
#include "common/result.hpp"

namespace costs::app {

// One key of a configuration file: the flag it sets, its values as the flag's text (one unless
// the flag is repeatable; none for a flag without a value set to `true`), and its line.
struct ConfigEntry {
  std::string name;
  std::vector<std::string> values;
  int line = 0;
};

// Reads the TOML file at `path` against `specs`: its keys are the flags with from_env (but
// "config"), at the top level, each written in the TOML type of its Spec::Kind. A key set to
// `false` for a flag without a value is left out. kInvalidData, with a message naming the file,
// the line and the key, for an unreadable file, a TOML syntax error, an unknown key, a table, or a
// value of the wrong type.
Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path, const std::vector<Flags::Spec>& specs);

}  // namespace costs::app
