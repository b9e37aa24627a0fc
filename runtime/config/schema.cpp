#include "runtime/config/schema.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <sstream>

#include "runtime/error.h"

namespace sombrero::runtime {

std::string describe_kind(FieldKind kind) {
  switch (kind) {
    case FieldKind::integer:
      return "an integer";
    case FieldKind::number:
      return "a number";
    case FieldKind::boolean:
      return "true or false";
    case FieldKind::string:
      return "a string";
    case FieldKind::choice:
      return "one of the choices";
    case FieldKind::list:
      return "a list";
    case FieldKind::object:
      return "a section (a mapping of keys)";
  }
  return "?";
}

std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, result.ptr);
  // Keep a number looking like one: "5" -> "5.0" (but not "1e-05" or "inf").
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

namespace {

std::string bound_text(double value) {
  std::string text = format_number(value);
  if (text.size() > 2 && text.ends_with(".0")) text.resize(text.size() - 2);
  return text;
}

std::string join(const std::vector<std::string>& words, const char* separator) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out.append(separator);
    out.append(word);
  }
  return out;
}

std::string element_plural(FieldKind kind) {
  switch (kind) {
    case FieldKind::integer:
      return "integers";
    case FieldKind::number:
      return "numbers";
    default:
      return "strings";
  }
}

std::string value_text(const ConfigValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_number(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v.empty() ? "''" : v;
        } else {
          std::vector<std::string> parts;
          for (const auto& e : v) {
            if constexpr (std::is_same_v<typename T::value_type, double>) {
              parts.push_back(format_number(e));
            } else if constexpr (std::is_same_v<typename T::value_type, std::int64_t>) {
              parts.push_back(std::to_string(e));
            } else {
              parts.push_back(e);
            }
          }
          return str("[", join(parts, ", "), "]");
        }
      },
      value);
}

}  // namespace

Field& Field::min(double bound, bool inclusive) {
  lower = bound;
  lower_inclusive = inclusive;
  return *this;
}

Field& Field::max(double bound, bool inclusive) {
  upper = bound;
  upper_inclusive = inclusive;
  return *this;
}

Field& Field::size(std::size_t min_entries, std::size_t max_entries) {
  min_size = min_entries;
  max_size = max_entries;
  return *this;
}

Field& Field::required() {
  is_required = true;
  default_value.reset();
  return *this;
}

Field& Field::optional() {
  is_required = false;
  default_value.reset();
  return *this;
}

std::string Field::range_text() const {
  if (lower && upper) {
    return str("must be in ", lower_inclusive ? "[" : "(", bound_text(*lower), ", ",
               bound_text(*upper), upper_inclusive ? "]" : ")");
  }
  if (lower) return str("must be ", lower_inclusive ? ">= " : "> ", bound_text(*lower));
  if (upper) return str("must be ", upper_inclusive ? "<= " : "< ", bound_text(*upper));
  return "";
}

bool Field::in_range(double value) const {
  if (lower && (lower_inclusive ? value < *lower : value <= *lower)) return false;
  if (upper && (upper_inclusive ? value > *upper : value >= *upper)) return false;
  return true;
}

std::string Field::expected_text() const {
  switch (kind) {
    case FieldKind::choice:
      return str("one of ", join(choices, ", "));
    case FieldKind::list:
      if (!choices.empty()) return str("a list of values from ", join(choices, ", "));
      return str("a list of ", element_plural(element_kind));
    default:
      return describe_kind(kind);
  }
}

Field& ObjectSchema::add(const std::string& name, FieldKind kind, const std::string& doc) {
  SOMBRERO_CHECK(!name.empty() && name.find('.') == std::string::npos, "config key '", name,
                 "' must be a non-empty name without '.'");
  SOMBRERO_CHECK(find(name) == nullptr, "config key '", name, "' declared twice");
  auto field = std::make_unique<Field>();
  field->name = name;
  field->doc = doc;
  field->kind = kind;
  fields_.push_back(std::move(field));
  return *fields_.back();
}

Field& ObjectSchema::integer(const std::string& name, std::int64_t default_value,
                             const std::string& doc) {
  Field& field = add(name, FieldKind::integer, doc);
  field.default_value = default_value;
  return field;
}

Field& ObjectSchema::number(const std::string& name, double default_value, const std::string& doc) {
  Field& field = add(name, FieldKind::number, doc);
  field.default_value = default_value;
  return field;
}

Field& ObjectSchema::boolean(const std::string& name, bool default_value, const std::string& doc) {
  Field& field = add(name, FieldKind::boolean, doc);
  field.default_value = default_value;
  return field;
}

Field& ObjectSchema::string(const std::string& name, const std::string& default_value,
                            const std::string& doc) {
  Field& field = add(name, FieldKind::string, doc);
  field.default_value = default_value;
  return field;
}

Field& ObjectSchema::choice(const std::string& name, std::vector<std::string> choices,
                            const std::string& default_value, const std::string& doc) {
  SOMBRERO_CHECK(!choices.empty(), "config key '", name, "' declares no choices");
  Field& field = add(name, FieldKind::choice, doc);
  field.choices = std::move(choices);
  field.default_value = default_value;
  return field;
}

Field& ObjectSchema::integers(const std::string& name, std::vector<std::int64_t> default_value,
                              const std::string& doc) {
  Field& field = add(name, FieldKind::list, doc);
  field.element_kind = FieldKind::integer;
  field.default_value = std::move(default_value);
  return field;
}

Field& ObjectSchema::numbers(const std::string& name, std::vector<double> default_value,
                             const std::string& doc) {
  Field& field = add(name, FieldKind::list, doc);
  field.element_kind = FieldKind::number;
  field.default_value = std::move(default_value);
  return field;
}

Field& ObjectSchema::strings(const std::string& name, std::vector<std::string> default_value,
                             const std::string& doc) {
  Field& field = add(name, FieldKind::list, doc);
  field.element_kind = FieldKind::string;
  field.default_value = std::move(default_value);
  return field;
}

ObjectSchema& ObjectSchema::object(const std::string& name, const std::string& doc) {
  Field& field = add(name, FieldKind::object, doc);
  field.object = std::make_unique<ObjectSchema>(doc);
  return *field.object;
}

const Field* ObjectSchema::find(std::string_view name) const {
  for (const auto& field : fields_)
    if (field->name == name) return field.get();
  return nullptr;
}

std::vector<std::string> ObjectSchema::names() const {
  std::vector<std::string> out;
  for (const auto& field : fields_) out.push_back(field->name);
  return out;
}

void ObjectSchema::check_defaults(const std::string& prefix) const {
  for (const auto& field : fields_) {
    const std::string path = prefix.empty() ? field->name : prefix + "." + field->name;
    if (field->object) {
      field->object->check_defaults(path);
      continue;
    }
    if (!field->default_value) continue;
    const ConfigValue& value = *field->default_value;
    const auto bad = [&](const std::string& why) {
      throw Error(str("schema default of '", path, "' = ", value_text(value), " ", why));
    };
    std::vector<double> numbers;
    std::vector<std::string> words;
    std::size_t entries = 1;
    if (auto* i = std::get_if<std::int64_t>(&value)) numbers.push_back(static_cast<double>(*i));
    if (auto* d = std::get_if<double>(&value)) numbers.push_back(*d);
    if (auto* s = std::get_if<std::string>(&value)) words.push_back(*s);
    if (auto* list = std::get_if<std::vector<std::int64_t>>(&value)) {
      for (auto i : *list) numbers.push_back(static_cast<double>(i));
      entries = list->size();
    }
    if (auto* list = std::get_if<std::vector<double>>(&value)) {
      numbers = *list;
      entries = list->size();
    }
    if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
      words = *list;
      entries = list->size();
    }
    for (double n : numbers)
      if (!field->in_range(n)) bad(field->range_text());
    if (!field->choices.empty())
      for (const std::string& w : words)
        if (std::find(field->choices.begin(), field->choices.end(), w) == field->choices.end())
          bad(str("is not ", field->expected_text()));
    if (field->kind == FieldKind::list && (entries < field->min_size || entries > field->max_size))
      bad("has the wrong number of entries");
  }
}

namespace {

void explain_into(const ObjectSchema& schema, const std::string& prefix, std::ostream& out) {
  for (const auto& field : schema.fields()) {
    const std::string path = prefix.empty() ? field->name : prefix + "." + field->name;
    if (field->object) {
      out << path << ":  section  " << field->doc << "\n";
      explain_into(*field->object, path, out);
      continue;
    }
    out << path << "  " << field->expected_text();
    if (const std::string range = field->range_text(); !range.empty()) out << ", " << range;
    if (field->default_value) {
      out << "  (default " << value_text(*field->default_value) << ")";
    } else {
      out << (field->is_required ? "  (required)" : "  (optional)");
    }
    out << "  " << field->doc << "\n";
  }
}

}  // namespace

std::string explain_schema(const ObjectSchema& schema) {
  std::ostringstream out;
  explain_into(schema, "", out);
  return out.str();
}

}  // namespace sombrero::runtime
