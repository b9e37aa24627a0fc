#include "runtime/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "runtime/config/config_tree.h"
#include "runtime/error.h"
#include "runtime/text.h"

namespace sombrero::runtime {

namespace {

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string got_text(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsScalar()) return str("'", node.Scalar(), "'");
  if (node.IsSequence()) return "a list";
  return "a section";
}

std::string_view without_plus(std::string_view text) {
  return text.size() > 1 && text[0] == '+' ? text.substr(1) : text;
}

template <typename T>
bool parse_whole(std::string_view text, T& out, std::errc& error) {
  text = without_plus(text);
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  error = result.ec;
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out.append(", ");
    out.append(word);
  }
  return out;
}

std::string entries_text(const Field& field) {
  if (field.min_size == field.max_size) return str("exactly ", field.min_size);
  if (field.max_size == SIZE_MAX) return str("at least ", field.min_size);
  return str(field.min_size, " to ", field.max_size);
}

void collect_paths(const ObjectSchema& schema, const std::string& prefix,
                   std::vector<std::string>& out) {
  for (const auto& field : schema.fields()) {
    const std::string path = join_path(prefix, field->name);
    out.push_back(path);
    if (field->object) collect_paths(*field->object, path, out);
  }
}

}  // namespace

// Validates a ConfigItem tree against a schema into a Config; throws at the first problem.
class ConfigBuilder {
 public:
  explicit ConfigBuilder(const ObjectSchema& schema) { config_.schema_ = &schema; }

  Config build(const ConfigItem& root) {
    section(*config_.schema_, root, "");
    return std::move(config_);
  }

 private:
  [[noreturn]] static void fail(const ConfigOrigin& where, const std::string& message) {
    throw Error(where.str() + ": " + message);
  }

  void section(const ObjectSchema& schema, const ConfigItem& item, const std::string& prefix) {
    for (const ConfigItem& child : item.children) {
      const Field* field = schema.find(child.key);
      if (!field)
        fail(child.key_origin,
             str("unknown key '", child.key, "'",
                 prefix.empty() ? " at the top level" : str(" in section '", prefix, "'"),
                 did_you_mean(child.key, schema.names())));
      const std::string path = join_path(prefix, child.key);
      if (field->kind == FieldKind::object) {
        if (child.is_section) {
          section(*field->object, child, path);
        } else if (child.value.node.IsNull()) {  // `u1:` with every key commented out
          section(*field->object, empty_section(child), path);
        } else {
          fail(child.value_origin, str("'", path, "' must be a section (a mapping of keys), got ",
                                       got_text(child.value.node)));
        }
        continue;
      }
      if (child.is_section)
        fail(child.value_origin,
             str("'", path, "' must be ", field->expected_text(), ", got a section"));
      config_.values_[path] = {value(*field, child, path), child.value_origin.str()};
    }
    for (const auto& field : schema.fields()) {
      if (std::any_of(item.children.begin(), item.children.end(),
                      [&](const ConfigItem& c) { return c.key == field->name; }))
        continue;
      const std::string path = join_path(prefix, field->name);
      if (field->object) {
        section(*field->object, empty_section(item), path);
      } else if (field->default_value) {
        config_.values_[path] = {*field->default_value, "default"};
      } else if (field->is_required) {
        fail(item.key_origin, str("missing required key '", path, "' (", field->doc, ")"));
      }
    }
  }

  static ConfigItem empty_section(const ConfigItem& parent) {
    ConfigItem empty;
    empty.is_section = true;
    empty.key_origin = parent.key_origin;
    empty.value_origin = parent.value_origin;
    return empty;
  }

  static ConfigOrigin element_origin(const ConfigOrigin& list, const YAML::Node& element) {
    ConfigOrigin origin = list;
    if (origin.set_arg.empty() && element.Mark().line >= 0) {
      origin.line = element.Mark().line;
      origin.column = element.Mark().column;
    }
    return origin;
  }

  ConfigValue value(const Field& field, const ConfigItem& item, const std::string& path) {
    const YAML::Node& node = item.value.node;
    if (field.kind != FieldKind::list) {
      if (!node.IsScalar())
        fail(item.value_origin,
             str("'", path, "' must be ", field.expected_text(), ", got ", got_text(node)));
      return scalar(field, field.kind, node, path, item.value_origin);
    }
    if (!node.IsSequence())
      fail(item.value_origin,
           str("'", path, "' must be ", field.expected_text(), ", got ", got_text(node)));
    std::vector<std::int64_t> integers;
    std::vector<double> numbers;
    std::vector<std::string> strings;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node element = node[i];
      const ConfigOrigin where = element_origin(item.value_origin, element);
      const std::string element_path = str(path, "[", i, "]");
      if (!element.IsScalar())
        fail(where, str("'", element_path, "' must be ", describe_kind(field.element_kind),
                        ", got ", got_text(element)));
      const ConfigValue v = scalar(field, field.element_kind, element, element_path, where);
      if (auto* n = std::get_if<std::int64_t>(&v)) integers.push_back(*n);
      if (auto* n = std::get_if<double>(&v)) numbers.push_back(*n);
      if (auto* s = std::get_if<std::string>(&v)) strings.push_back(*s);
    }
    if (node.size() < field.min_size || node.size() > field.max_size)
      fail(item.value_origin,
           str("'", path, "' must have ", entries_text(field), " entries, got ", node.size()));
    switch (field.element_kind) {
      case FieldKind::integer:
        return integers;
      case FieldKind::number:
        return numbers;
      default:
        return strings;
    }
  }

  // One scalar of kind `kind` (the field's kind, or its element kind for a list).
  static ConfigValue scalar(const Field& field, FieldKind kind, const YAML::Node& node,
                            const std::string& path, const ConfigOrigin& where) {
    const std::string& text = node.Scalar();
    const auto wrong = [&]() {
      fail(where, str("'", path, "' must be ",
                      field.kind == FieldKind::list ? describe_kind(kind) : field.expected_text(),
                      ", got '", text, "'"));
    };
    const auto check_range = [&](double v) {
      if (!field.in_range(v))
        fail(where, str("'", path, "' = ", text, " is out of range: ", field.range_text()));
    };
    std::errc error{};
    switch (kind) {
      case FieldKind::integer: {
        std::int64_t v = 0;
        if (!parse_whole(text, v, error)) {
          if (error == std::errc::result_out_of_range)
            fail(where, str("'", path, "' = ", text, " is too large for an integer"));
          wrong();
        }
        check_range(static_cast<double>(v));
        return v;
      }
      case FieldKind::number: {
        double v = 0;
        if (!parse_whole(text, v, error) || !std::isfinite(v)) wrong();
        check_range(v);
        return v;
      }
      case FieldKind::boolean: {
        bool v = false;
        if (!YAML::convert<bool>::decode(node, v)) wrong();
        return v;
      }
      default: {
        if (!field.choices.empty() &&
            std::find(field.choices.begin(), field.choices.end(), text) == field.choices.end())
          fail(where, str("'", path, "' must be one of ", join(field.choices), "; got '", text, "'",
                          did_you_mean(text, field.choices)));
        return text;
      }
    }
  }

  Config config_;
};

const Field& Config::field(std::string_view path) const {
  if (!schema_)
    throw Error(str("config key '", path, "' read from a config that was never loaded"));
  const ObjectSchema* schema = schema_;
  const Field* found = nullptr;
  std::size_t start = 0;
  while (schema) {
    const std::size_t dot = path.find('.', start);
    found = schema->find(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (!found || dot == std::string_view::npos) break;
    schema = found->object.get();
    found = nullptr;
    start = dot + 1;
  }
  if (!found) {
    std::vector<std::string> paths;
    collect_paths(*schema_, "", paths);
    throw Error(
        str("config key '", path, "' is not declared in the schema", did_you_mean(path, paths)));
  }
  if (found->object) throw Error(str("config key '", path, "' is a section, not a value"));
  return *found;
}

bool Config::has(std::string_view path) const {
  field(path);
  return values_.find(path) != values_.end();
}

std::string Config::origin(std::string_view path) const {
  field(path);
  const auto it = values_.find(path);
  return it == values_.end() ? "unset" : it->second.origin;
}

template <typename T>
T Config::get(std::string_view path) const {
  const Field& declared = field(path);
  const auto it = values_.find(path);
  if (it == values_.end())
    throw Error(str("config key '", path, "' has no value (it is optional and was not set)"));
  const ConfigValue& value = it->second.value;
  const auto narrow = [&](std::int64_t v) {
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      throw Error(str(it->second.origin, ": '", path, "' = ", v, " does not fit in an int"));
    return static_cast<int>(v);
  };
  if constexpr (std::is_same_v<T, double>) {
    if (auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  } else if constexpr (std::is_same_v<T, int>) {
    if (auto* i = std::get_if<std::int64_t>(&value)) return narrow(*i);
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    if (auto* list = std::get_if<std::vector<std::int64_t>>(&value))
      return std::vector<double>(list->begin(), list->end());
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    if (auto* list = std::get_if<std::vector<std::int64_t>>(&value)) {
      std::vector<int> out;
      for (std::int64_t v : *list) out.push_back(narrow(v));
      return out;
    }
  }
  if constexpr (!std::is_same_v<T, int> && !std::is_same_v<T, std::vector<int>>) {
    if (auto* v = std::get_if<T>(&value)) return *v;
  }
  throw Error(str("config key '", path, "' holds ", declared.expected_text(),
                  ", which cannot be read as the type asked for"));
}

template bool Config::get<bool>(std::string_view) const;
template std::int64_t Config::get<std::int64_t>(std::string_view) const;
template int Config::get<int>(std::string_view) const;
template double Config::get<double>(std::string_view) const;
template std::string Config::get<std::string>(std::string_view) const;
template std::vector<std::int64_t> Config::get<std::vector<std::int64_t>>(std::string_view) const;
template std::vector<int> Config::get<std::vector<int>>(std::string_view) const;
template std::vector<double> Config::get<std::vector<double>>(std::string_view) const;
template std::vector<std::string> Config::get<std::vector<std::string>>(std::string_view) const;

namespace {

void emit_value(YAML::Emitter& out, const ConfigValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          out << format_number(v);
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                             std::is_same_v<T, std::string>) {
          out << v;
        } else {
          out << YAML::Flow << YAML::BeginSeq;
          for (const auto& e : v) {
            if constexpr (std::is_same_v<typename T::value_type, double>) {
              out << format_number(e);
            } else {
              out << e;
            }
          }
          out << YAML::EndSeq;
        }
      },
      value);
}

}  // namespace

std::string Config::to_yaml() const {
  YAML::Emitter out;
  const auto emit_section = [&](const auto& self, const ObjectSchema& schema,
                                const std::string& prefix) -> void {
    out << YAML::BeginMap;
    for (const auto& field : schema.fields()) {
      const std::string path = join_path(prefix, field->name);
      if (field->object) {
        out << YAML::Key << field->name << YAML::Value;
        self(self, *field->object, path);
        continue;
      }
      const auto it = values_.find(path);
      if (it == values_.end()) continue;
      out << YAML::Key << field->name << YAML::Value;
      emit_value(out, it->second.value);
    }
    out << YAML::EndMap;
  };
  emit_section(emit_section, *schema_, "");
  return std::string(out.c_str()) + "\n";
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides,
                   const ObjectSchema& schema) {
  ConfigItem root = read_config_file(path);
  for (const std::string& assignment : overrides) apply_config_override(root, assignment);
  return ConfigBuilder(schema).build(root);
}

Config parse_config(const std::string& yaml_text, const std::string& name,
                    const std::vector<std::string>& overrides, const ObjectSchema& schema) {
  ConfigItem root = read_config_text(yaml_text, name);
  for (const std::string& assignment : overrides) apply_config_override(root, assignment);
  return ConfigBuilder(schema).build(root);
}

}  // namespace sombrero::runtime
