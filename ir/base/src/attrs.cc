#include "hgc/base/attrs.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "hgc/base/dtype.h"
#include "hgc/base/error.h"

namespace hgc {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

[[noreturn]] void bad(const std::string& what, const std::string& text) {
  fail("attr", "expected ", what, ", got '", text, "'");
}

bool try_int(std::string t, int64_t& out) {
  t = trim(t);
  if (!t.empty() && (t.back() == 'L' || t.back() == 'l')) t.pop_back();  // Python 2 longs
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') {
    out = v;
    return true;
  }
  // "2.0" is an integer written as a float by some exporters.
  double d = std::strtod(t.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool try_float(std::string t, double& out) {
  t = trim(t);
  if (t.empty()) return false;
  std::string l = lower(t);
  if (l == "inf" || l == "+inf" || l == "infinity") { out = INFINITY; return true; }
  if (l == "-inf" || l == "-infinity") { out = -INFINITY; return true; }
  if (l == "nan") { out = NAN; return true; }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(t.c_str(), &end);
  if (end && *end == '\0' && errno != ERANGE) {
    out = v;
    return true;
  }
  return false;
}

// Splits "(a, b)" / "[a, b]" / "(a,)" / "()" / "a" into element strings.
std::vector<std::string> split_tuple(const std::string& text) {
  std::string t = trim(text);
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    char close = t.front() == '(' ? ')' : ']';
    if (t.size() < 2 || t.back() != close) bad("a tuple like (3, 3)", text);
    t = t.substr(1, t.size() - 2);
  }
  std::vector<std::string> parts;
  if (trim(t).empty()) return parts;
  size_t start = 0;
  for (size_t i = 0; i <= t.size(); ++i) {
    if (i == t.size() || t[i] == ',') {
      std::string p = trim(t.substr(start, i - start));
      if (p.empty()) {
        if (i == t.size() && !parts.empty()) break;  // trailing comma: "(3,)"
        bad("a tuple like (3, 3)", text);
      }
      parts.push_back(p);
      start = i + 1;
    }
  }
  return parts;
}

bool is_none(const std::string& t) { return trim(t) == "None"; }

}  // namespace

bool parse_bool(const std::string& text) {
  std::string l = lower(trim(text));
  if (l == "true" || l == "1") return true;
  if (l == "false" || l == "0") return false;
  bad("a boolean (True/False/1/0)", text);
}

std::vector<int64_t> parse_int_tuple(const std::string& text) {
  std::vector<int64_t> out;
  for (const std::string& p : split_tuple(text)) {
    int64_t v;
    if (p == "None") v = -1;  // numpy-style "unknown" inside shapes
    else if (!try_int(p, v)) bad("a tuple of integers", text);
    out.push_back(v);
  }
  return out;
}

AttrValue parse_attr(const AttrSpec& spec, const std::string& text) {
  if (spec.nullable && is_none(text)) return std::monostate{};
  switch (spec.type) {
    case AttrType::Int: {
      int64_t v;
      if (!try_int(text, v)) {
        // Booleans are accepted where MXNet's parser takes ints (e.g. "True" for is_int).
        std::string l = lower(trim(text));
        if (l == "true" || l == "false") return int64_t(l == "true");
        bad("an integer", text);
      }
      return v;
    }
    case AttrType::Float: {
      double v;
      if (!try_float(text, v)) bad("a number", text);
      return v;
    }
    case AttrType::Bool:
      return parse_bool(text);
    case AttrType::String:
      return text;
    case AttrType::Enum: {
      std::string t = trim(text);
      for (const std::string& c : spec.choices)
        if (c == t) return t;
      std::string all;
      for (const std::string& c : spec.choices) all += (all.empty() ? "" : ", ") + c;
      fail("attr", "expected one of {", all, "}, got '", text, "'");
    }
    case AttrType::IntTuple:
      return parse_int_tuple(text);
    case AttrType::FloatTuple: {
      std::vector<double> out;
      for (const std::string& p : split_tuple(text)) {
        double v;
        if (!try_float(p, v)) bad("a tuple of numbers", text);
        out.push_back(v);
      }
      return out;
    }
    case AttrType::DType: {
      std::string t = trim(text);
      int64_t code;
      if (try_int(t, code)) {
        if (auto d = dtype_from_code(code)) return dtype_name(*d);
      } else if (auto d = dtype_from_name(t)) {
        return dtype_name(*d);
      }
      bad("a dtype name like float32", text);
    }
  }
  bad("a value", text);
}

namespace {
std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // Python's str(1.0)
  return s;
}

template <typename T, typename F>
std::string format_tuple(const std::vector<T>& v, F f) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + f(v[i]);
  if (v.size() == 1) s += ",";
  return s + ")";
}
}  // namespace

std::string format_attr(const AttrValue& v) {
  struct V {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<int64_t>& t) const {
      return format_tuple(t, [](int64_t x) { return std::to_string(x); });
    }
    std::string operator()(const std::vector<double>& t) const {
      return format_tuple(t, format_double);
    }
  };
  return std::visit(V{}, v);
}

}  // namespace hgc
