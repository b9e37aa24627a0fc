// The declarative schema of a YAML config: which sections and keys exist, each key's kind,
// default, allowed range or choices and a one-line doc. Code declares the schema; the loader
// (runtime/config/config.h) validates every file against it, so an unknown or mistyped key,
// a wrong type or an out-of-range value is an error before any work starts.
//
//   ObjectSchema& optim = root.object("optim", "the optimizer");
//   optim.number("lr", 0.1, "peak learning rate").greater_than(0);
//   optim.choice("name", {"sgd"}, "sgd", "optimizer algorithm");
//   optim.integers("milestones", {}, "epochs at which the lr is multiplied by gamma").min(0);
//
// Keys keep their declaration order: the resolved config prints in it, and --explain lists it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sombrero::runtime {

enum class FieldKind {
  integer,  // std::int64_t
  number,   // double (an integer written in the file is accepted)
  boolean,  // true | false
  string,   // any scalar, kept as text
  choice,   // one string of a declared list
  list,     // a YAML sequence of integers, numbers or strings (element_kind)
  object,   // a nested section with its own fields
};

// "an integer", "a number", "true or false", ...: how messages name what a kind expects.
std::string describe_kind(FieldKind kind);

// A value a key can hold once resolved. Lists hold one element kind each.
using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<double>, std::vector<std::string>>;

class ObjectSchema;

// One declared key. The range and size setters chain: .min(0).max(1, /*inclusive=*/false).
// For a list, the range and the choices apply to every element.
struct Field {
  std::string name;
  std::string doc;
  FieldKind kind = FieldKind::string;
  FieldKind element_kind = FieldKind::string;  // lists only: integer, number or string
  std::vector<std::string> choices;            // choice only
  std::optional<ConfigValue> default_value;    // absent: required, or optional without value
  bool is_required = false;
  std::optional<double> lower, upper;  // numeric bounds (integer, number, lists of them)
  bool lower_inclusive = true, upper_inclusive = true;
  std::size_t min_size = 0, max_size = SIZE_MAX;  // lists only
  std::unique_ptr<ObjectSchema> object;           // object only

  Field& min(double bound, bool inclusive = true);
  Field& max(double bound, bool inclusive = true);
  Field& greater_than(double bound) { return min(bound, false); }
  Field& less_than(double bound) { return max(bound, false); }
  Field& size(std::size_t min_entries, std::size_t max_entries);
  // The key must be written; its default (if any) is dropped.
  Field& required();
  // No default: the key may be absent, and Config::has() tells.
  Field& optional();

  // "must be > 0", "must be in [0, 1)", "" when unbounded.
  std::string range_text() const;
  bool in_range(double value) const;
  // "an integer", "one of sgd", "a list of numbers", ...
  std::string expected_text() const;
};

// A section: named fields in declaration order. Declaring a name twice is a programming
// error (throws). Each declarer returns the new Field for the range/size/required setters.
class ObjectSchema {
 public:
  explicit ObjectSchema(std::string doc = "") : doc_(std::move(doc)) {}
  ObjectSchema(const ObjectSchema&) = delete;
  ObjectSchema& operator=(const ObjectSchema&) = delete;

  Field& integer(const std::string& name, std::int64_t default_value, const std::string& doc);
  Field& number(const std::string& name, double default_value, const std::string& doc);
  Field& boolean(const std::string& name, bool default_value, const std::string& doc);
  Field& string(const std::string& name, const std::string& default_value, const std::string& doc);
  Field& choice(const std::string& name, std::vector<std::string> choices,
                const std::string& default_value, const std::string& doc);
  Field& integers(const std::string& name, std::vector<std::int64_t> default_value,
                  const std::string& doc);
  Field& numbers(const std::string& name, std::vector<double> default_value,
                 const std::string& doc);
  Field& strings(const std::string& name, std::vector<std::string> default_value,
                 const std::string& doc);
  // A nested section; declare its fields on the returned schema.
  ObjectSchema& object(const std::string& name, const std::string& doc);

  const std::string& doc() const { return doc_; }
  const std::vector<std::unique_ptr<Field>>& fields() const { return fields_; }
  const Field* find(std::string_view name) const;
  std::vector<std::string> names() const;

  // Checks every default against its field's range, choices and size (throws on the first
  // that does not fit): run once where a schema is built, so a bad default fails loudly.
  void check_defaults(const std::string& prefix = "") const;

 private:
  Field& add(const std::string& name, FieldKind kind, const std::string& doc);

  std::string doc_;
  std::vector<std::unique_ptr<Field>> fields_;
};

// A reference listing of every key: "optim.lr  number > 0  default 0.1  peak learning rate",
// one key per line, sections in declaration order (for `sombrero check-config --explain`).
std::string explain_schema(const ObjectSchema& schema);

// Shortest text that reads back as the same double ("0.1", "1e-05", "5.0").
std::string format_number(double value);

}  // namespace sombrero::runtime
