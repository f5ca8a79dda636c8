#pragma once
#include <iosfwd>
#include <string>
#include <vector>

// The command line of omnicast-replay:
//
//   omnicast-replay [--data-dir DIR | --ledger DIR] [--progress] <command> [options]
//
// parsed strictly (no abbreviated options, every value checked), dispatched to the command, and
// every failure turned into its exit code with a one-line message on `err` (support.hpp).
namespace omnicast::replay {

// `args` are the arguments after the program name. `err_is_tty` turns progress reports on, as
// --progress does.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool err_is_tty);

}  // namespace omnicast::replay
