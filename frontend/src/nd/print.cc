// numpy's str() of an array, which MXNet prints inside "\n%s\n<NDArray 2x3 @cpu(0)>".
// Follows numpy >= 1.14 (arrayprint.py: FloatingFormat with floatmode 'maxprec',
// precision 8, linewidth 75, threshold 1000, edgeitems 3), so output matches what current
// MXNet prints. The book's older outputs ("[ 1.  1.]") are numpy 1.13's legacy mode.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "nd/detail.h"

namespace hgc::nd {
namespace {

constexpr int kLineWidth = 75;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int kPrecision = 8;

// bfloat16 by hand: it is the top half of a float32, and compiler-rt's __bf16 conversion
// helpers are not linked everywhere.
float bf16_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint16_t float_to_bf16(float f) {  // round to nearest even (finite values)
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

double element(const HostTensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::f64: return static_cast<const double*>(p)[i];
    case DType::f16: return static_cast<float>(static_cast<const _Float16*>(p)[i]);
    case DType::bf16: return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    default: return 0;
  }
}

std::string int_element(const HostTensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::i8: return std::to_string(static_cast<const int8_t*>(p)[i]);
    case DType::u8: return std::to_string(static_cast<const uint8_t*>(p)[i]);
    case DType::i16: return std::to_string(static_cast<const int16_t*>(p)[i]);
    case DType::u16: return std::to_string(static_cast<const uint16_t*>(p)[i]);
    case DType::i32: return std::to_string(static_cast<const int32_t*>(p)[i]);
    case DType::u32: return std::to_string(static_cast<const uint32_t*>(p)[i]);
    case DType::i64: return std::to_string(static_cast<const int64_t*>(p)[i]);
    case DType::u64: return std::to_string(static_cast<const uint64_t*>(p)[i]);
    case DType::boolean: return static_cast<const uint8_t*>(p)[i] ? "True" : "False";
    default: return "?";
  }
}

std::string chars(double v, DType t, std::chars_format fmt, int precision = -1) {
  char buf[512];
  std::to_chars_result r;
  bool single = t != DType::f64;  // f32, and f16/bf16 values (exact in float)
  if (precision < 0) r = single ? std::to_chars(buf, buf + sizeof buf, float(v), fmt) : std::to_chars(buf, buf + sizeof buf, v, fmt);
  else r = single ? std::to_chars(buf, buf + sizeof buf, float(v), fmt, precision) : std::to_chars(buf, buf + sizeof buf, v, fmt, precision);
  return std::string(buf, r.ptr);
}

// The shortest decimal that reads back as the same value *of the element type*: numpy
// prints float32 0.1 as "0.1", not float64's 0.10000000149011612. f16/bf16 search digits.
std::string shortest(double v, DType t, std::chars_format fmt) {
  if (t != DType::f16 && t != DType::bf16) return chars(v, t, fmt);
  for (int p = 0; p < 9; ++p) {
    std::string s = chars(v, DType::f32, std::chars_format::scientific, p);
    float back = std::strtof(s.c_str(), nullptr);
    bool same = t == DType::f16 ? static_cast<_Float16>(back) == static_cast<_Float16>(static_cast<float>(v))
                                : float_to_bf16(back) == float_to_bf16(static_cast<float>(v));
    if (same) return fmt == std::chars_format::scientific ? s : chars(std::strtod(s.c_str(), nullptr), DType::f64, fmt);
  }
  return chars(v, DType::f32, fmt);
}

// Dragon4 "unique" digits cut at kPrecision fractional digits, trailing zeros trimmed but
// the point kept ("1.", "0.5"); scientific splits off the exponent.
struct Parts {
  std::string int_part, frac, exp;  // exp like "+05"
};
Parts digits(double v, DType t, bool scientific) {
  auto fmt = scientific ? std::chars_format::scientific : std::chars_format::fixed;
  std::string s = shortest(v, t, fmt);
  Parts p;
  size_t e = scientific ? s.find('e') : std::string::npos;
  std::string mant = e == std::string::npos ? s : s.substr(0, e);
  size_t dot = mant.find('.');
  if (dot != std::string::npos && mant.size() - dot - 1 > static_cast<size_t>(kPrecision)) {
    s = chars(v, t, fmt, kPrecision);  // correctly rounded at the cut
    e = scientific ? s.find('e') : std::string::npos;
    mant = e == std::string::npos ? s : s.substr(0, e);
    dot = mant.find('.');
  }
  if (e != std::string::npos) p.exp = s.substr(e + 1);
  p.int_part = mant.substr(0, dot);
  p.frac = dot == std::string::npos ? "" : mant.substr(dot + 1);
  while (!p.frac.empty() && p.frac.back() == '0') p.frac.pop_back();
  return p;
}

// numpy's FloatingFormat: fixed layout decided from all the values that will be shown.
class FloatFormat {
 public:
  FloatFormat(const std::vector<double>& vals, DType t) : t_(t) {
    std::vector<double> finite;
    bool has_nonfinite = false, neg_inf = false;
    for (double v : vals) {
      if (std::isfinite(v)) finite.push_back(v);
      else has_nonfinite = true, neg_inf = neg_inf || (std::isinf(v) && v < 0);
    }
    double mx = 0, mn = INFINITY;
    for (double v : finite)
      if (v != 0) mx = std::max(mx, std::fabs(v)), mn = std::min(mn, std::fabs(v));
    exp_ = mx > 0 && (mx >= 1e8 || mn < 1e-4 || mx / mn > 1e3);
    for (double v : finite) {
      Parts p = digits(v, t, exp_);
      pad_left_ = std::max(pad_left_, static_cast<int>(p.int_part.size()));
      pad_right_ = std::max(pad_right_, static_cast<int>(p.frac.size()));
      exp_size_ = std::max(exp_size_, static_cast<int>(p.exp.size()) - 1);
    }
    if (exp_) precision_ = pad_right_, pad_right_ = exp_size_ + 2 + precision_;
    if (has_nonfinite) {
      int offset = pad_right_ + 1;
      pad_left_ = std::max({pad_left_, 3 - offset, 3 + (neg_inf ? 1 : 0) - offset});
    }
  }

  std::string operator()(double v) const {
    int width = pad_left_ + pad_right_ + 1;
    if (!std::isfinite(v)) {
      std::string s = std::isnan(v) ? "nan" : v < 0 ? "-inf" : "inf";
      return std::string(std::max<int>(0, width - static_cast<int>(s.size())), ' ') + s;
    }
    Parts p = digits(v, t_, exp_);
    std::string s = std::string(std::max<int>(0, pad_left_ - static_cast<int>(p.int_part.size())), ' ') + p.int_part + ".";
    if (exp_) {
      std::string ed = p.exp.substr(1);
      ed.insert(0, std::max<int>(0, exp_size_ - static_cast<int>(ed.size())), '0');
      return s + p.frac + std::string(precision_ - p.frac.size(), '0') + "e" + p.exp[0] + ed;
    }
    return s + p.frac + std::string(pad_right_ - p.frac.size(), ' ');
  }

 private:
  DType t_;
  bool exp_ = false;
  int pad_left_ = 0, pad_right_ = 0, precision_ = 0, exp_size_ = 0;
};

// numpy's _extendLine: wrap before a word that would pass the width, unless the line holds
// nothing but its indent.
void extend_line(std::string& s, std::string& line, const std::string& word, size_t width, const std::string& indent) {
  if (line.size() + word.size() > width && line.size() > indent.size()) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    s += line + "\n";
    line = indent;
  }
  line += word;
}

struct Layout {
  const std::vector<int64_t>& shape;
  std::vector<int64_t> strides;
  bool summarize;
  std::function<std::string(int64_t)> format;

  // The positions printed along an axis: all, or the first and last kEdgeItems around "...".
  std::vector<int64_t> shown(int64_t n) const {
    std::vector<int64_t> r;
    bool cut = summarize && 2 * kEdgeItems < n;
    for (int64_t i = 0; i < n; ++i)
      if (!cut || i < kEdgeItems || i >= n - kEdgeItems) r.push_back(i);
    return r;
  }
  void collect(int axis, int64_t offset, std::vector<int64_t>& out) const {
    if (axis == static_cast<int>(shape.size())) return out.push_back(offset);
    for (int64_t i : shown(shape[axis])) collect(axis + 1, offset + i * strides[axis], out);
  }

  // numpy's _formatArray recurser with separator ' ' and prefix "".
  std::string recurse(int axis, int64_t offset, const std::string& hanging, int width) const {
    int left = static_cast<int>(shape.size()) - axis;
    if (left == 0) return format(offset);
    int64_t n = shape[axis];
    bool cut = summarize && 2 * kEdgeItems < n;
    std::string s;
    auto item = [&](int64_t i) { return recurse(axis + 1, offset + i * strides[axis], hanging + " ", width - 1); };
    if (left == 1) {
      size_t elem_width = static_cast<size_t>(width - 1);  // room for the closing ']'
      std::string line = hanging;
      for (int64_t i : shown(n)) {
        if (cut && i == n - kEdgeItems) {
          extend_line(s, line, "...", elem_width, hanging);
          line += " ";
        }
        extend_line(s, line, item(i), elem_width, hanging);
        if (i != n - 1) line += " ";
      }
      s += line;
    } else {
      std::string sep(static_cast<size_t>(left - 1), '\n');
      for (int64_t i : shown(n)) {
        if (cut && i == n - kEdgeItems) s += hanging + "..." + sep;
        s += hanging + item(i) + (i != n - 1 ? sep : "");
      }
    }
    return "[" + s.substr(hanging.size()) + "]";
  }
};

}  // namespace

std::string array_str(const NDArray& x) {
  if (!x.defined()) return "None";
  const HostTensor& t = x.tensor();
  if (t.ndim() == 0) return "[]";
  Layout lay{t.shape(), std::vector<int64_t>(t.ndim(), 1), t.numel() > kThreshold, {}};
  for (int i = t.ndim() - 2; i >= 0; --i) lay.strides[i] = lay.strides[i + 1] * t.shape()[i + 1];
  if (t.numel() == 0) return "[]";
  std::vector<int64_t> offsets;
  lay.collect(0, 0, offsets);
  if (dtype_is_float(t.dtype())) {
    std::vector<double> vals;
    for (int64_t o : offsets) vals.push_back(element(t, o));
    FloatFormat f(vals, t.dtype());
    lay.format = [&t, f](int64_t o) { return f(element(t, o)); };  // f dies with this block
  } else {
    // Integers right-aligned to the widest; bools pad "True" to " True" when a False is shown.
    size_t w = 0;
    for (int64_t o : offsets) w = std::max(w, int_element(t, o).size());
    lay.format = [&, w](int64_t o) {
      std::string s = int_element(t, o);
      return std::string(w - s.size(), ' ') + s;
    };
  }
  return lay.recurse(0, 0, " ", kLineWidth);
}

}  // namespace hgc::nd
