// `sombrero check-config FILE [--set KEY=VALUE ...]`: loads a run config the way `sombrero
// train` will (includes, overrides, validation, defaults) and prints the resolved config as
// YAML to stdout, with a one-line summary on stderr. A bad config is an error naming the
// key, its file:line:column and, for a typo, the closest declared key.
#include <iostream>

#include "runtime/config/config.h"
#include "runtime/config/run_config_schema.h"
#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/cli/command.h"

namespace sombrero::cli {

namespace {

int run_check_config(const std::vector<std::string>& args) {
  ArgParser parser("sombrero check-config",
                   "Validates a run config against the schema (unknown keys, types, ranges,\n"
                   "choices; includes and --set overrides applied) and prints the resolved\n"
                   "config, every key with its value or default, as YAML.");
  parser.positional("FILE", "the YAML run config", /*required=*/false)
      .repeated("--set", "KEY=VALUE", "override a key after includes, e.g. --set optim.lr=0.05")
      .flag("--explain",
            "list every config key with its type, range, default and meaning, then exit");
  if (!parser.parse(args)) return 0;

  const runtime::ObjectSchema& schema = runtime::run_config_schema();
  if (parser.has("--explain")) {
    std::cout << runtime::explain_schema(schema);
    return 0;
  }
  if (!parser.has("FILE"))
    throw Error("missing FILE: `sombrero check-config FILE` (see `sombrero check-config --help`)");

  const std::string file = parser.get("FILE");
  const std::vector<std::string> overrides = parser.get_all("--set");
  const runtime::Config config = runtime::load_config(file, overrides, schema);
  std::cout << config.to_yaml();
  std::cerr << file << ": ok (" << overrides.size() << " override"
            << (overrides.size() == 1 ? "" : "s") << ", model "
            << config.get<std::string>("model.name") << ", dataset "
            << config.get<std::string>("data.dataset") << ")\n";
  return 0;
}

}  // namespace

Command check_config_command() {
  return {"check-config", "validate a run config and print it resolved", run_check_config};
}

}  // namespace sombrero::cli
