#pragma once

// FUZZ_CHECK: a property of a fuzz target. Unlike assert it holds in every build (the replay
// tests run in RelWithDebInfo, where NDEBUG is set): on failure it prints what failed, with the
// input's size, and aborts, which libFuzzer and the replay driver both report as a crash.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                                         \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s (%s)\n", __FILE__, __LINE__, #cond, std::string(what).c_str()); \
      std::abort();                                                                                                    \
    }                                                                                                                  \
  } while (false)
