#pragma once
#include <cstdint>

#include "actors/node/node.hpp"
#include "runtime/clock.hpp"

namespace omnicast::test {

struct ScriptStats {
  int commands = 0;
  int done = 0;
  int refused = 0;
  int duplicates = 0;
};

// Drives a node's actors with a pseudo-random but reproducible sequence of commands over rooms
// and sessions of every mode (including refusals and repeated op ids), advancing the manual clock
// between commands. The same seed and the same starting clock give the same commands.
ScriptStats run_command_script(actors::Node& node, runtime::ManualClock& clock, std::uint64_t seed,
                               int steps);

}  // namespace omnicast::test
