// The options `sombrero memory-eval` and `sombrero analyze` share with `sombrero eval`
// (--checkpoint, --config, --data, --set, --batch), and integer option parsing.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

#include "runtime/error.h"
#include "trainer/cli/args.h"
#include "trainer/inference_setup.h"

namespace sombrero::cli {

inline void add_checkpoint_options(ArgParser& parser) {
  parser.option("--checkpoint", "FILE", "safetensors checkpoint or weights file (required)")
      .option("--config", "FILE", "run config (default: the one stored in the checkpoint)")
      .option("--data", "DIR", "dataset root, replacing the config's data.path")
      .repeated("--set", "KEY=VALUE", "override a config value")
      .option("--batch", "N", "batch size of the forward passes (default: the config's eval one)");
}

// The value of an integer option, >= minimum; a clear error naming the option otherwise.
inline long long integer_option(const ArgParser& parser, const std::string& name,
                                long long minimum) {
  const std::string text = parser.get(name);
  long long value = 0;
  std::size_t used = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SOMBRERO_CHECK(used == text.size() && used > 0 && value >= minimum, name,
                 " must be an integer >= ", minimum, ", got '", text, "'");
  return value;
}

inline trainer::InferenceRequest inference_request(const ArgParser& parser,
                                                   const std::string& command) {
  SOMBRERO_CHECK(parser.has("--checkpoint"), "`sombrero ", command,
                 "` needs --checkpoint FILE (see `sombrero ", command, " --help`)");
  trainer::InferenceRequest request;
  request.checkpoint = parser.get("--checkpoint");
  request.config_path = parser.get("--config");
  request.overrides = parser.get_all("--set");
  request.data_path = parser.get("--data");
  if (parser.has("--batch"))
    request.batch_size = static_cast<int>(integer_option(parser, "--batch", 1));
  return request;
}

}  // namespace sombrero::cli
