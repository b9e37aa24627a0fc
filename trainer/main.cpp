// `sombrero`: the command-line entry point. Dispatches to a subcommand; any error a user
// can cause arrives here as an exception and is printed as one line, exit code 1.
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/text.h"
#include "trainer/cli/command.h"

namespace {

void print_usage() {
  std::cout << "usage: sombrero <command> [options]\n\n"
               "Trains convolutional networks with hand-written CUDA kernels and a U(1) loss.\n\n"
               "commands:\n";
  for (const auto& command : sombrero::cli::all_commands())
    std::cout << "  " << command.name
              << std::string(16 - std::min<std::size_t>(15, command.name.size()), ' ')
              << command.summary << "\n";
  std::cout << "\n`sombrero <command> --help` describes a command.\n";
}

// OpenMP threads that spin while idle (libgomp's default) steal the cores from the data
// loader's threads and from other processes: on 2 cores a training step ran 3x slower.
// libgomp reads OMP_WAIT_POLICY when it loads, before main, so the binary re-executes itself
// once with the variable set, unless the user chose a policy.
void prefer_passive_openmp_waiting(char** argv) {
  const char* chosen = std::getenv("OMP_WAIT_POLICY");
  if (chosen != nullptr && *chosen != '\0') return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waiting(argv);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage();
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> names;
  for (const auto& command : sombrero::cli::all_commands()) {
    names.push_back(command.name);
    if (command.name != args[0]) continue;
    try {
      return command.run(std::vector<std::string>(args.begin() + 1, args.end()));
    } catch (const sombrero::Error& error) {
      std::cerr << "sombrero " << command.name << ": error: " << error.what() << "\n";
    } catch (const std::exception& error) {
      std::cerr << "sombrero " << command.name << ": internal error: " << error.what() << "\n";
    }
    return 1;
  }
  std::cerr << "sombrero: unknown command '" << args[0] << "'"
            << sombrero::did_you_mean(args[0], names) << " (see `sombrero --help`)\n";
  return 2;
}
