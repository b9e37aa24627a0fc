#include "trainer/cli/args.h"

#include <iostream>

#include "runtime/error.h"
#include "runtime/text.h"

namespace sombrero::cli {

ArgParser::ArgParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, "", Kind::flag});
  return *this;
}

ArgParser& ArgParser::option(const std::string& name, const std::string& value_name,
                             const std::string& help, const std::string& default_value) {
  specs_.push_back({name, value_name, help, default_value, Kind::option});
  return *this;
}

ArgParser& ArgParser::repeated(const std::string& name, const std::string& value_name,
                               const std::string& help) {
  specs_.push_back({name, value_name, help, "", Kind::repeated});
  return *this;
}

ArgParser& ArgParser::positional(const std::string& name, const std::string& help, bool required) {
  specs_.push_back({name, "", help, "", Kind::positional, required});
  return *this;
}

const ArgParser::Spec* ArgParser::find(const std::string& name) const {
  for (const Spec& spec : specs_)
    if (spec.name == name) return &spec;
  return nullptr;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  std::vector<const Spec*> positionals;
  for (const Spec& spec : specs_)
    if (spec.kind == Kind::positional) positionals.push_back(&spec);
  std::size_t next_positional = 0;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      return false;
    }
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      const std::size_t eq = arg.find('=');
      const std::string name = arg.substr(0, eq);
      const Spec* spec = find(name);
      if (!spec || spec->kind == Kind::positional) {
        std::vector<std::string> names;
        for (const Spec& s : specs_)
          if (s.kind != Kind::positional) names.push_back(s.name);
        throw Error(str("unknown option '", name, "' for `", program_, "`",
                        did_you_mean(name, names), " (see `", program_, " --help`)"));
      }
      if (spec->kind == Kind::flag) {
        if (eq != std::string::npos)
          throw Error(str("option ", name, " of `", program_, "` takes no value"));
        values_[name].push_back("true");
        continue;
      }
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw Error(str("option ", name, " of `", program_, "` needs a value (", name, " ",
                        spec->value_name, ")"));
      }
      if (spec->kind == Kind::option && values_.count(name))
        throw Error(str("option ", name, " of `", program_, "` given twice"));
      values_[name].push_back(value);
      continue;
    }
    if (next_positional >= positionals.size())
      throw Error(str("unexpected argument '", arg, "' for `", program_, "` (see `", program_,
                      " --help`)"));
    values_[positionals[next_positional++]->name].push_back(arg);
  }
  for (; next_positional < positionals.size(); ++next_positional)
    if (positionals[next_positional]->required)
      throw Error(str("`", program_, "` needs ", positionals[next_positional]->name, " (see `",
                      program_, " --help`)"));
  return true;
}

bool ArgParser::has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string ArgParser::get(const std::string& name) const {
  const auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  const Spec* spec = find(name);
  return spec ? spec->default_value : std::string();
}

std::vector<std::string> ArgParser::get_all(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string ArgParser::usage() const {
  std::string text = "usage: " + program_;
  for (const Spec& spec : specs_)
    if (spec.kind == Kind::positional)
      text += spec.required ? " " + spec.name : " [" + spec.name + "]";
  text += " [options]\n\n" + description_ + "\n";
  bool any_positional = false;
  for (const Spec& spec : specs_) {
    if (spec.kind != Kind::positional) continue;
    if (!any_positional) text += "\narguments:\n";
    any_positional = true;
    text += str("  ", spec.name, "\n      ", spec.help, "\n");
  }
  text += "\noptions:\n";
  for (const Spec& spec : specs_) {
    if (spec.kind == Kind::positional) continue;
    std::string left = spec.name;
    if (!spec.value_name.empty()) left += " " + spec.value_name;
    text += str("  ", left, "\n      ", spec.help);
    if (spec.kind == Kind::repeated) text += " (repeatable)";
    if (!spec.default_value.empty()) text += str(" (default: ", spec.default_value, ")");
    text += "\n";
  }
  text += "  --help\n      show this help and exit\n";
  return text;
}

}  // namespace sombrero::cli
