#include "trainer/cli/command.h"

namespace sombrero::cli {

Command train_command();
Command eval_command();
Command info_command();
Command check_config_command();
Command bench_command();
Command memory_eval_command();
Command analyze_command();
// --- declarations of further subcommands (one per issue that adds one)

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      train_command(),
      eval_command(),
      info_command(),
      check_config_command(),
      bench_command(),
      memory_eval_command(),
      analyze_command(),
  };
  return commands;
}

}  // namespace sombrero::cli
