#include "app/build_info.hpp"

namespace costs::app {

std::string_view CostsVersion() { return COSTS_BUILD_VERSION; }
std::string_view CostsCommit() { return COSTS_BUILD_COMMIT; }

}  // namespace costs::app
