#include <cstdio>
#include <exception>

#include "app/app.hpp"

int main(int argc, char** argv) {
  try {
    return costs::app::CostsctlMain(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "costsctl: fatal: %s\n", e.what());
    return 1;
  }
}
