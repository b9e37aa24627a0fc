// A `sombrero` subcommand: its name, one-line summary and entry point. Each subcommand
// lives in trainer/cli/<name>_command.cpp and is listed once in trainer/cli/commands.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sombrero::cli {

struct Command {
  std::string name;     // "info", "check-config", ...
  std::string summary;  // one line, shown by `sombrero --help`
  // Receives the arguments after the subcommand name; returns the process exit code.
  // Errors are thrown as sombrero::Error and printed by main as one line.
  std::function<int(const std::vector<std::string>& args)> run;
};

// Every subcommand, in the order `sombrero --help` lists them.
const std::vector<Command>& all_commands();

}  // namespace sombrero::cli
