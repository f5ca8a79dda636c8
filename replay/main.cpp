// omnicast-replay: the audit and verification tool over an omnicast ledger (docs/replay.md).
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "replay/cli.hpp"
#include "replay/support.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv + 1, argv + argc);
  int code = omnicast::replay::kExitUnreadable;
  try {
    code = omnicast::replay::run_cli(args, std::cout, std::cerr, isatty(STDERR_FILENO) == 1);
  } catch (const std::exception& e) {
    // Anything the commands did not anticipate (out of memory, a filesystem error) still ends
    // with a message and a failure code rather than std::terminate.
    std::cerr << "omnicast-replay: " << e.what() << '\n';
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "omnicast-replay: cannot write the output\n";
    if (code == omnicast::replay::kExitOk) code = omnicast::replay::kExitCheckFailed;
  }
  return code;
}
