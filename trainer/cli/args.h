// Command-line parsing for `sombrero` subcommands: flags (--json), options with a value
// (--out DIR or --out=DIR), repeatable options (--set k=v ...) and positionals.
// Unknown options are errors with a "did you mean" suggestion; --help prints the usage.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sombrero::cli {

class ArgParser {
 public:
  ArgParser(std::string program, std::string description);

  ArgParser& flag(const std::string& name, const std::string& help);
  ArgParser& option(const std::string& name, const std::string& value_name,
                    const std::string& help, const std::string& default_value = "");
  ArgParser& repeated(const std::string& name, const std::string& value_name,
                      const std::string& help);
  ArgParser& positional(const std::string& name, const std::string& help, bool required = true);

  // Parses `args`. Returns false when --help was asked for (the usage is then printed to
  // stdout and the command should exit 0). Throws sombrero::Error on a bad command line.
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;               // flag given, or option/positional set
  std::string get(const std::string& name) const;        // value, or its default
  std::vector<std::string> get_all(const std::string& name) const;  // repeated option values
  std::string usage() const;

 private:
  enum class Kind { flag, option, repeated, positional };
  struct Spec {
    std::string name, value_name, help, default_value;
    Kind kind;
    bool required = false;
  };
  const Spec* find(const std::string& name) const;

  std::string program_, description_;
  std::vector<Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

}  // namespace sombrero::cli
