// Loading a YAML config: includes, command-line overrides, validation against a schema
// (runtime/config/schema.h), defaults, and typed access by key path.
//
//   const Config config = load_config("configs/fashion_mnist.yaml", {"optim.lr=0.05"},
//                                     run_config_schema());
//   const double lr = config.get<double>("optim.lr");
//   const auto mean = config.get<std::vector<double>>("data.mean");
//   std::cout << config.to_yaml();  // every key, defaults filled, in schema order
//
// The file format:
// - `include: base.yaml` (or a list) at the top level loads other configs first, paths
//   relative to the including file, recursively; the including file's keys deep-merge over
//   the included ones (sections merge key by key; a scalar or a list replaces). Later
//   entries of an include list win over earlier ones. A cycle is an error naming the chain.
// - Overrides `a.b.c=value` (from `--set`) apply after all includes, in order; the value is
//   YAML (`0.05`, `joint`, `[0.5, 0.5, 0.5]`).
// - Every key must be declared. Validation stops at the first problem, in file order
//   (unknown key, wrong type, out of range, bad choice, missing required key), and throws
//   sombrero::Error with one line that names the place: `configs/x.yaml:12:3: ...`
//   (1-based line:column), or `--set optim.lr=fast: ...` for a value from the command line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/config/schema.h"

namespace sombrero::runtime {

class Config {
 public:
  // Typed value of a declared key, by dotted path ("optim.lr"). Supported T: bool,
  // std::int64_t, int, double (also reads integer keys), std::string (also choice keys),
  // std::vector<std::int64_t>, std::vector<int>, std::vector<double>, std::vector<std::string>.
  // Throws sombrero::Error for an undeclared path (with a suggestion), a section, a kind
  // that does not match T, or an optional key that has no value.
  template <typename T>
  T get(std::string_view path) const;

  // True when the declared key has a value (always, except optional keys left unset).
  bool has(std::string_view path) const;

  // Where the value came from, for messages that point the user at it later:
  // "configs/x.yaml:7:9", "--set optim.lr=0.05", or "default".
  std::string origin(std::string_view path) const;

  // The resolved config as YAML: every declared key with its value (defaults filled),
  // sections and keys in schema order. Loading it again gives the same config.
  std::string to_yaml() const;

  const ObjectSchema& schema() const { return *schema_; }

 private:
  friend class ConfigBuilder;
  struct Entry {
    ConfigValue value;
    std::string origin;
  };
  const Field& field(std::string_view path) const;

  const ObjectSchema* schema_ = nullptr;  // not owned; outlives the config
  std::map<std::string, Entry, std::less<>> values_;
};

// Loads `path` with its includes, applies `overrides` ("a.b.c=value", in order), validates
// against `schema` and fills defaults. `schema` must outlive the returned Config.
Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   const ObjectSchema& schema);

// The same from YAML text (e.g. the resolved config stored in a checkpoint); `name` is how
// messages refer to it, includes are resolved relative to the current directory.
Config parse_config(const std::string& yaml_text, const std::string& name,
                    const std::vector<std::string>& overrides, const ObjectSchema& schema);

}  // namespace sombrero::runtime
