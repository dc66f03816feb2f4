// Typed op attributes with MXNet's string syntax.
//
//   AttrSpec k = AttrSpec::int_tuple("kernel");                 // required
//   AttrValue v = parse_attr(k, "(3, 3)");                       // std::vector<int64_t>{3, 3}
//   format_attr(v) == "(3, 3)"
//   AttrView a(op_def, node.attrs, "conv0");  a.tuple("kernel"); a.i("num_group");  // default 1
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace hgc {

// std::monostate is MXNet's "None".
using AttrValue =
    std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<int64_t>,
                 std::vector<double>>;
using AttrMap = std::map<std::string, AttrValue>;

enum class AttrType { Int, Float, Bool, String, Enum, IntTuple, FloatTuple, DType };

struct AttrSpec {
  std::string name;
  AttrType type = AttrType::String;
  bool nullable = false;                 // "None" accepted
  std::optional<AttrValue> default_value;  // nullopt: required
  std::vector<std::string> choices;      // for Enum

  static AttrSpec make(std::string n, AttrType t) {
    AttrSpec s;
    s.name = std::move(n);
    s.type = t;
    return s;
  }
  static AttrSpec integer(std::string n) { return make(std::move(n), AttrType::Int); }
  static AttrSpec real(std::string n) { return make(std::move(n), AttrType::Float); }
  static AttrSpec boolean(std::string n) { return make(std::move(n), AttrType::Bool); }
  static AttrSpec string(std::string n) { return make(std::move(n), AttrType::String); }
  static AttrSpec int_tuple(std::string n) { return make(std::move(n), AttrType::IntTuple); }
  static AttrSpec float_tuple(std::string n) { return make(std::move(n), AttrType::FloatTuple); }
  static AttrSpec dtype(std::string n) { return make(std::move(n), AttrType::DType); }
  static AttrSpec one_of(std::string n, std::vector<std::string> c) {
    AttrSpec s = make(std::move(n), AttrType::Enum);
    s.choices = std::move(c);
    return s;
  }
  AttrSpec& def(AttrValue v) { default_value = std::move(v); return *this; }
  AttrSpec& none_ok() { nullable = true; return *this; }
  // Optional with default None.
  AttrSpec& opt() { nullable = true; default_value = std::monostate{}; return *this; }
};

// Parses an MXNet attribute string for `spec`. Throws hgc::Error("attr", ...) naming the
// attribute and the offending text; callers add node/op context.
AttrValue parse_attr(const AttrSpec& spec, const std::string& text);
// MXNet's Python-str() spelling: "(3, 3)", "(3,)", "True", "None", "0.001", "relu".
std::string format_attr(const AttrValue& v);
// Lenient parsers shared with the CLI.
std::vector<int64_t> parse_int_tuple(const std::string& text);
bool parse_bool(const std::string& text);

}  // namespace hgc
