// The unvalidated tree a config is read into before validation (used by config.cpp):
// YAML files with their includes merged, then `--set` overrides applied. Every key and value
// remembers where it was written, so validation errors can point at file:line:column.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace sombrero::runtime {

// A place in the input: a file position, a --set argument, or just a file.
struct ConfigOrigin {
  std::string file;  // as the user would recognise it (relative paths kept relative)
  int line = -1;     // 0-based, as yaml-cpp's Mark; -1 when unknown
  int column = -1;
  std::string set_arg;  // "optim.lr=0.05" when the value came from --set

  static ConfigOrigin at(const std::string& file, const YAML::Mark& mark);
  // "configs/x.yaml:12:3", "--set optim.lr=0.05", or "configs/x.yaml".
  std::string str() const;
};

// A YAML::Node with value semantics on assignment: yaml-cpp's Node::operator= writes
// through to the node it refers to (changing every other handle to it); this rebinds.
struct YamlValue {
  YAML::Node node;
  YamlValue() = default;
  YamlValue(const YAML::Node& value) : node(value) {}  // NOLINT: implicit on purpose
  YamlValue(const YamlValue&) = default;
  YamlValue& operator=(const YamlValue& other) {
    node.reset(other.node);
    return *this;
  }
};

// One node of the merged tree: a section (is_section, children in file order) or a value
// (a YAML scalar, sequence or null).
struct ConfigItem {
  std::string key;
  ConfigOrigin key_origin;
  ConfigOrigin value_origin;
  bool is_section = false;
  std::vector<ConfigItem> children;
  YamlValue value;

  ConfigItem* child(const std::string& name);
  // Deep merge: sections merge key by key, anything else in `over` replaces.
  void merge(ConfigItem over);
};

// Reads `path` and, recursively, its `include:` files; returns the merged top-level
// section (without the include key). Messages name files as the user wrote them.
ConfigItem read_config_file(const std::string& path);
// The same for YAML text; includes are resolved against the current directory.
ConfigItem read_config_text(const std::string& yaml_text, const std::string& name);

// Applies one "a.b.c=value" override to `root` (value parsed as YAML).
void apply_config_override(ConfigItem& root, const std::string& assignment);

}  // namespace sombrero::runtime
