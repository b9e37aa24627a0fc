#include "runtime/config/config_tree.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "runtime/error.h"

namespace sombrero::runtime {

namespace fs = std::filesystem;

ConfigOrigin ConfigOrigin::at(const std::string& file, const YAML::Mark& mark) {
  ConfigOrigin origin;
  origin.file = file;
  origin.line = mark.line;
  origin.column = mark.column;
  return origin;
}

std::string ConfigOrigin::str() const {
  if (!set_arg.empty()) return sombrero::str("--set ", set_arg);
  if (line < 0 || column < 0) return file;
  return sombrero::str(file, ":", line + 1, ":", column + 1);
}

ConfigItem* ConfigItem::child(const std::string& name) {
  for (ConfigItem& c : children)
    if (c.key == name) return &c;
  return nullptr;
}

void ConfigItem::merge(ConfigItem over) {
  if (!is_section || !over.is_section) {
    *this = std::move(over);
    return;
  }
  for (ConfigItem& c : over.children) {
    if (ConfigItem* existing = child(c.key)) {
      existing->merge(std::move(c));
    } else {
      children.push_back(std::move(c));
    }
  }
}

namespace {

using OriginOf = std::function<ConfigOrigin(const YAML::Mark&)>;

std::string node_text(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsScalar()) return str("'", node.Scalar(), "'");
  if (node.IsSequence()) return "a list";
  return "a section";
}

// A YAML mapping as a section item, keys in file order; nested mappings become sections.
void fill_section(ConfigItem& item, const YAML::Node& map, const OriginOf& origin_of) {
  item.is_section = true;
  for (const auto& pair : map) {
    const YAML::Node& key = pair.first;
    const YAML::Node& value = pair.second;
    if (!key.IsScalar())
      throw Error(
          str(origin_of(key.Mark()).str(), ": a key must be a plain name, got ", node_text(key)));
    if (item.child(key.Scalar()))
      throw Error(str(origin_of(key.Mark()).str(), ": duplicate key '", key.Scalar(), "'"));
    ConfigItem child;
    child.key = key.Scalar();
    child.key_origin = origin_of(key.Mark());
    // An empty value (`lr:`) is positioned at the next token; point at its key instead.
    child.value_origin = value.IsNull() ? child.key_origin : origin_of(value.Mark());
    if (value.IsMap()) {
      fill_section(child, value, origin_of);
    } else {
      child.value = value;
    }
    item.children.push_back(std::move(child));
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& name) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(str(ConfigOrigin::at(name, e.mark).str(), ": YAML syntax error: ", e.msg));
  }
}

struct IncludeChain {
  std::vector<std::string> canonical;  // for cycle detection
  std::vector<std::string> shown;      // for the message
};

ConfigItem read_document(const YAML::Node& document, const std::string& name,
                         const fs::path& base_dir, IncludeChain& chain);

ConfigItem read_file(const fs::path& path, IncludeChain& chain, const ConfigOrigin* included_at) {
  const std::string shown = path.string();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(path, ec);
  if (ec) canonical = fs::absolute(path);
  if (std::find(chain.canonical.begin(), chain.canonical.end(), canonical.string()) !=
      chain.canonical.end()) {
    std::string cycle;
    for (const std::string& file : chain.shown) cycle += file + " -> ";
    throw Error(
        str(included_at ? str(included_at->str(), ": ") : "", "include cycle: ", cycle, shown));
  }
  if (!fs::is_regular_file(path, ec)) {
    const char* what = fs::exists(path, ec) ? "is not a regular file" : "does not exist";
    if (included_at) throw Error(str(included_at->str(), ": included config '", shown, "' ", what));
    throw Error(str("config file '", shown, "' ", what));
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw Error(str("cannot read config file '", shown, "'"));

  chain.canonical.push_back(canonical.string());
  chain.shown.push_back(shown);
  ConfigItem item = read_document(parse_yaml(text.str(), shown), shown, path.parent_path(), chain);
  chain.canonical.pop_back();
  chain.shown.pop_back();
  return item;
}

ConfigItem read_document(const YAML::Node& document, const std::string& name,
                         const fs::path& base_dir, IncludeChain& chain) {
  const OriginOf origin_of = [&name](const YAML::Mark& mark) {
    return ConfigOrigin::at(name, mark);
  };
  ConfigItem own;
  own.is_section = true;
  own.key_origin.file = name;
  own.value_origin.file = name;
  if (document.IsNull()) return own;  // an empty file is an empty config
  if (!document.IsMap())
    throw Error(str(origin_of(document.Mark()).str(),
                    ": a config must be a mapping of sections (key: value), got ",
                    node_text(document)));
  fill_section(own, document, origin_of);

  ConfigItem merged;
  merged.is_section = true;
  merged.key_origin = own.key_origin;
  merged.value_origin = own.value_origin;
  const auto include = std::find_if(own.children.begin(), own.children.end(),
                                    [](const ConfigItem& c) { return c.key == "include"; });
  if (include != own.children.end()) {
    std::vector<YAML::Node> files;
    const YAML::Node& list = include->value.node;
    if (list.IsScalar()) files.push_back(list);
    if (list.IsSequence())
      for (const auto& file : list) files.push_back(file);
    if (files.empty() || include->is_section)
      throw Error(str(include->value_origin.str(),
                      ": 'include' must be a file name or a list of file names"));
    for (const YAML::Node& file : files) {
      if (!file.IsScalar())
        throw Error(str(origin_of(file.Mark()).str(), ": an include must be a file name, got ",
                        node_text(file)));
      const ConfigOrigin at = origin_of(file.Mark());
      merged.merge(read_file((base_dir / file.Scalar()).lexically_normal(), chain, &at));
    }
    own.children.erase(include);
  }
  merged.merge(std::move(own));
  return merged;
}

}  // namespace

ConfigItem read_config_file(const std::string& path) {
  IncludeChain chain;
  return read_file(fs::path(path), chain, nullptr);
}

ConfigItem read_config_text(const std::string& yaml_text, const std::string& name) {
  IncludeChain chain;
  chain.canonical.push_back(name);
  chain.shown.push_back(name);
  return read_document(parse_yaml(yaml_text, name), name, fs::path(), chain);
}

void apply_config_override(ConfigItem& root, const std::string& assignment) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(str("--set ", assignment, ": expected KEY=VALUE, e.g. --set optim.lr=0.05"));
  std::vector<std::string> keys;
  std::stringstream path(assignment.substr(0, eq));
  for (std::string key; std::getline(path, key, '.');) {
    if (key.empty()) throw Error(str("--set ", assignment, ": the key path has an empty part"));
    keys.push_back(key);
  }
  if (assignment[eq - 1] == '.')
    throw Error(str("--set ", assignment, ": the key path has an empty part"));

  ConfigOrigin origin;
  origin.set_arg = assignment;
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = text.empty() ? YAML::Node(std::string()) : YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw Error(str("--set ", assignment, ": the value is not valid YAML: ", e.msg));
  }

  ConfigItem leaf;
  leaf.key = keys.back();
  leaf.key_origin = leaf.value_origin = origin;
  if (value.IsMap()) {
    fill_section(leaf, value, [&origin](const YAML::Mark&) { return origin; });
  } else {
    leaf.value = value;
  }
  for (std::size_t i = keys.size() - 1; i-- > 0;) {
    ConfigItem section;
    section.key = keys[i];
    section.key_origin = section.value_origin = origin;
    section.is_section = true;
    section.children.push_back(std::move(leaf));
    leaf = std::move(section);
  }
  ConfigItem top;
  top.is_section = true;
  top.children.push_back(std::move(leaf));
  root.merge(std::move(top));
}

}  // namespace sombrero::runtime
