#include "app/version.hpp"

namespace costs::app {

std::string VersionLine(std::string_view program) {
  return std::string(program) + " " + kVersion + " (commit " + kCommit + ")";
}

}  // namespace costs::app
