#pragma once
// How every fuzz target reports a broken invariant: say which, then crash so libFuzzer records the
// input. FUZZ_CHECK(cond) fails with the condition's text.
#include <cstdio>

namespace omnicast::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace omnicast::fuzz

#define FUZZ_CHECK(cond)                        \
  do {                                          \
    if (!(cond)) ::omnicast::fuzz::fail(#cond); \
  } while (0)
