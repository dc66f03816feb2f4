#include "kernel_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hgc/base/error.h"

namespace hgc::lower {

std::string elem_type(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i8: case DType::u8: case DType::boolean: return "i8";
    case DType::i16: case DType::u16: return "i16";
    case DType::i32: case DType::u32: return "i32";
    case DType::i64: case DType::u64: return "i64";
    default: break;
  }
  fail("compiler", "dtype ", dtype_name(t), " has no code generator type");
}

static std::string dims_text(const Dims& shape) {
  std::string s;
  for (int64_t d : shape) s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s;
}

std::string tensor_type(const Dims& shape, DType t) { return "tensor<" + dims_text(shape) + elem_type(t) + ">"; }
std::string memref_type(const Dims& shape, DType t) { return "memref<" + dims_text(shape) + elem_type(t) + ">"; }

std::string affine_map(int rank, const std::vector<std::string>& results) {
  std::string s = "affine_map<(";
  for (int i = 0; i < rank; ++i) s += (i ? ", d" : "d") + std::to_string(i);
  s += ") -> (";
  for (size_t i = 0; i < results.size(); ++i) s += (i ? ", " : "") + results[i];
  return s + ")>";
}

std::string identity_map(int rank) {
  std::vector<std::string> r;
  for (int i = 0; i < rank; ++i) r.push_back("d" + std::to_string(i));
  return affine_map(rank, r);
}

std::string broadcast_map(const Dims& in, const Dims& out) {
  int R = static_cast<int>(out.size()), r = static_cast<int>(in.size());
  std::vector<std::string> res;
  for (int k = 0; k < r; ++k) {
    int d = R - r + k;
    res.push_back(in[k] == 1 && out[d] != 1 ? "0" : "d" + std::to_string(d));
  }
  return affine_map(R, res);
}

std::string float_literal(double v, DType t) {
  if (std::isinf(v) || std::isnan(v)) {
    // MLIR spells non-finite floats as hex bit patterns.
    char buf[32];
    if (t == DType::f64) {
      uint64_t bits = std::isnan(v) ? 0x7FF8000000000000ull : (v > 0 ? 0x7FF0000000000000ull : 0xFFF0000000000000ull);
      std::snprintf(buf, sizeof buf, "0x%016llX", static_cast<unsigned long long>(bits));
    } else if (t == DType::bf16 || t == DType::f16) {  // 16-bit patterns
      uint32_t bits = t == DType::bf16 ? (std::isnan(v) ? 0x7FC0u : (v > 0 ? 0x7F80u : 0xFF80u))
                                       : (std::isnan(v) ? 0x7E00u : (v > 0 ? 0x7C00u : 0xFC00u));
      std::snprintf(buf, sizeof buf, "0x%04X", bits);
    } else {
      uint32_t bits = std::isnan(v) ? 0x7FC00000u : (v > 0 ? 0x7F800000u : 0xFF800000u);
      std::snprintf(buf, sizeof buf, "0x%08X", bits);
    }
    return buf;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17e", v);
  return buf;
}

// ---- ScalarBuilder ----

std::string ScalarBuilder::fresh() { return "%s" + std::to_string(counter_++); }

std::string ScalarBuilder::raw(const std::string& text) {
  std::string r = fresh();
  os_ << "      " << r << " = " << text << "\n";
  return r;
}

// An integer literal of dtype t, saturated to its range (a max-pool's -inf start is its
// minimum); NaN is 0.
std::string int_literal(double v, DType t) {
  int bits = static_cast<int>(dtype_size(t)) * 8;
  bool uns = t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64 || t == DType::boolean;
  double lo = uns ? 0.0 : -std::ldexp(1.0, bits - 1), hi = uns ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
  if (std::isnan(v)) v = 0;
  v = std::min(std::max(v, lo), hi);
  if (bits == 64 && !uns && v >= 9.2233720368547758e18) return "9223372036854775807";
  if (bits == 64 && uns && v >= 1.8446744073709552e19) return "-1";
  return uns && bits == 64 ? std::to_string(static_cast<unsigned long long>(v)) : std::to_string(static_cast<long long>(v));
}

std::string ScalarBuilder::constant(double v) {
  if (dtype_is_float(t_)) return raw("arith.constant " + float_literal(v, t_) + " : " + ty());
  return raw("arith.constant " + int_literal(v, t_) + " : " + ty());
}

std::string ScalarBuilder::binary(const std::string& op, const std::string& a, const std::string& b) {
  return raw(op + " " + a + ", " + b + " : " + ty());
}

std::string ScalarBuilder::reduce_step(const std::string& op, const std::string& acc, const std::string& x) {
  if (!dtype_is_float(t_)) return binary(op, acc, x);
  return raw(op + " " + acc + ", " + x + " fastmath<reassoc,nnan,nsz,contract> : " + ty());
}

std::string ScalarBuilder::unary(const std::string& op, const std::string& a) {
  return raw(op + " " + a + " : " + ty());
}

std::string ScalarBuilder::cmp_i1(const std::string& pred, const std::string& a, const std::string& b) {
  if (dtype_is_float(t_)) return raw("arith.cmpf " + pred + ", " + a + ", " + b + " : " + ty());
  // Integer predicates: olt -> slt, oeq -> eq, une -> ne ...
  std::string p = pred == "oeq" ? "eq" : pred == "une" ? "ne" : "s" + pred.substr(1);
  return raw("arith.cmpi " + p + ", " + a + ", " + b + " : " + ty());
}

std::string ScalarBuilder::select(const std::string& c, const std::string& a, const std::string& b) {
  return raw("arith.select " + c + ", " + a + ", " + b + " : " + ty());
}

std::string ScalarBuilder::compare(const std::string& pred, const std::string& a, const std::string& b) {
  return select(cmp_i1(pred, a, b), constant(1), constant(0));
}

// ---- KernelWriter ----

std::string KernelWriter::fresh() { return "%t" + std::to_string(counter_++); }

void KernelWriter::remember(const std::string& ssa, const Dims& shape, DType t) {
  types_.push_back({ssa, {shape, t}});
}

Dims KernelWriter::shape_of(const std::string& tensor) const {
  for (auto it = types_.rbegin(); it != types_.rend(); ++it)
    if (it->first == tensor) return it->second.first;
  fail("compiler", "internal: unknown tensor ", tensor);
}

DType KernelWriter::type_of(const std::string& tensor) const {
  for (auto it = types_.rbegin(); it != types_.rend(); ++it)
    if (it->first == tensor) return it->second.second;
  fail("compiler", "internal: unknown tensor ", tensor);
}

std::string KernelWriter::input(const Dims& shape, DType t) {
  std::string name = "%in" + std::to_string(args_.size());
  prologue_ << "  " << name << " = bufferization.to_tensor %arg" << args_.size() << " restrict : "
            << memref_type(shape, t) << "\n";
  args_.push_back({shape, t, false, name});
  remember(name, shape, t);
  return name;
}

std::string KernelWriter::output(const Dims& shape, DType t) {
  std::string name = "%out" + std::to_string(args_.size());
  prologue_ << "  " << name << " = bufferization.to_tensor %arg" << args_.size()
            << " restrict writable : " << memref_type(shape, t) << "\n";
  args_.push_back({shape, t, true, name});
  remember(name, shape, t);
  return name;
}

void KernelWriter::result(int i, const std::string& tensor) {
  if (results_.size() <= static_cast<size_t>(i)) results_.resize(i + 1);
  results_[i] = tensor;
}

std::vector<std::string> KernelWriter::take_results() {
  std::vector<std::string> r;
  r.swap(results_);
  return r;
}

std::string KernelWriter::index_op(int d) { return "linalg.index " + std::to_string(d) + " : index"; }

std::string KernelWriter::generic(const std::vector<std::string>& ins, const std::vector<std::string>& maps,
                                  const std::string& init, const std::string& init_map,
                                  const std::vector<std::string>& iterators, DType body_type,
                                  const BodyFn& body, bool with_acc) {
  const Dims out_shape = shape_of(init);
  DType out_t = type_of(init);
  // A reduction into bfloat16/float16 accumulates in float32 (as oneDNN's GEMMs do): summing
  // in the 8-bit mantissa would lose ~1 % over a few dozen terms. The destination is widened
  // first, the body sees its half-float operands extended, and the result is rounded once.
  bool reduces = std::find(iterators.begin(), iterators.end(), "reduction") != iterators.end();
  if (with_acc && reduces && body_type == out_t && (out_t == DType::bf16 || out_t == DType::f16)) {
    auto widen = [&](DType from, DType to, const std::string& t) {
      std::string dst = empty(shape_of(t), to);
      std::vector<std::string> its(shape_of(t).size(), "parallel");
      return generic({t}, {identity_map(static_cast<int>(shape_of(t).size()))}, dst, "", its, to,
                     [&](ScalarBuilder& b, auto& a) {
                       return b.raw(std::string(dtype_size(to) > dtype_size(from) ? "arith.extf " : "arith.truncf ") +
                                    a[0] + " : " + elem_type(from) + " to " + elem_type(to));
                     });
    };
    std::string acc32 = widen(out_t, DType::f32, init);
    std::string r32 = generic(ins, maps, acc32, init_map, iterators, DType::f32, [&](ScalarBuilder& b, const std::vector<std::string>& a) {
      std::vector<std::string> ext = a;
      for (size_t i = 0; i < ins.size(); ++i)
        if (type_of(ins[i]) == out_t)
          ext[i] = b.raw("arith.extf " + a[i] + " : " + elem_type(out_t) + " to f32");
      return body(b, ext);
    }, with_acc);
    return widen(DType::f32, out_t, r32);
  }
  std::string r = fresh();
  auto& os = body_;
  os << "  " << r << " = linalg.generic {indexing_maps = [";
  for (const auto& m : maps) os << m << ", ";
  os << (init_map.empty() ? identity_map(static_cast<int>(out_shape.size())) : init_map)
     << "], iterator_types = [";
  for (size_t i = 0; i < iterators.size(); ++i) os << (i ? ", \"" : "\"") << iterators[i] << "\"";
  os << "]}";
  if (!ins.empty()) {
    os << " ins(";
    for (size_t i = 0; i < ins.size(); ++i) os << (i ? ", " : "") << ins[i];
    os << " : ";
    for (size_t i = 0; i < ins.size(); ++i) os << (i ? ", " : "") << tensor_type(shape_of(ins[i]), type_of(ins[i]));
    os << ")";
  }
  os << " outs(" << init << " : " << tensor_type(out_shape, out_t) << ") {\n    ^bb0(";
  std::vector<std::string> args;
  for (size_t i = 0; i < ins.size(); ++i) {
    args.push_back("%b" + std::to_string(i));
    os << args.back() << ": " << elem_type(type_of(ins[i])) << ", ";
  }
  os << "%acc: " << elem_type(out_t) << "):\n";
  if (with_acc) args.push_back("%acc");
  ScalarBuilder b(os, counter_, body_type);
  std::string v = body(b, args);
  os << "      linalg.yield " << v << " : " << elem_type(out_t) << "\n  } -> "
     << tensor_type(out_shape, out_t) << "\n";
  remember(r, out_shape, out_t);
  return r;
}

std::string KernelWriter::elementwise(const std::vector<std::string>& ins, const std::string& init,
                                      DType body_type, const BodyFn& body) {
  const Dims out = shape_of(init);
  std::vector<std::string> maps;
  for (const auto& in : ins) maps.push_back(broadcast_map(shape_of(in), out));
  std::vector<std::string> its(out.size(), "parallel");
  return generic(ins, maps, init, "", its, body_type, body);
}

std::string KernelWriter::fill(const std::string& init, double value) {
  DType t = type_of(init);
  std::string c = fresh(), r = fresh();
  std::string lit = dtype_is_float(t) ? float_literal(value, t) : int_literal(value, t);
  body_ << "  " << c << " = arith.constant " << lit << " : " << elem_type(t) << "\n";
  body_ << "  " << r << " = linalg.fill ins(" << c << " : " << elem_type(t) << ") outs(" << init
        << " : " << tensor_type(shape_of(init), t) << ") -> " << tensor_type(shape_of(init), t) << "\n";
  remember(r, shape_of(init), t);
  return r;
}

std::string KernelWriter::emit(const std::string& rhs, const Dims& shape, DType t) {
  std::string r = fresh();
  body_ << "  " << r << " = " << rhs << "\n";
  remember(r, shape, t);
  return r;
}

std::string KernelWriter::dim_value(int64_t sym) {
  for (const auto& [s, v] : dim_values_)
    if (s == sym) return v;
  for (const Arg& a : args_)
    for (size_t k = 0; k < a.shape.size(); ++k) {
      if (a.shape[k] != sym) continue;
      std::string c = fresh(), v = fresh();
      prologue_ << "  " << c << " = arith.constant " << k << " : index\n"
                << "  " << v << " = tensor.dim " << a.tensor << ", " << c << " : " << tensor_type(a.shape, a.type) << "\n";
      dim_values_.emplace_back(sym, v);
      return v;
    }
  fail("compiler", "internal: kernel ", name_, ": no argument has symbolic dim ", sym, " to size a temporary by");
}

std::string KernelWriter::empty(const Dims& shape, DType t) {
  std::string dyn;  // tensor.empty's operands: one index per dynamic dim, read off an argument
  for (int64_t d : shape)
    if (d < 0) {
      if (d == -1) fail("compiler", "internal: kernel ", name_, ": a temporary with an unnamed dynamic dim");
      dyn += (dyn.empty() ? "" : ", ") + dim_value(d);
    }
  std::string r = fresh();
  body_ << "  " << r << " = tensor.empty(" << dyn << ") : " << tensor_type(shape, t) << "\n";
  remember(r, shape, t);
  return r;
}

std::string KernelWriter::finish() const {
  std::ostringstream os;
  os << "func.func @" << name_ << "(";
  for (size_t i = 0; i < args_.size(); ++i)
    os << (i ? ", " : "") << "%arg" << i << ": " << memref_type(args_[i].shape, args_[i].type);
  os << ") attributes {llvm.emit_c_interface" << (may_alias_ ? std::string(", ") + kOutputsMayAlias : "")
     << (may_alias_ && keep_dtype_ ? std::string(", ") + kAliasesKeepDtype : "") << "} {\n"
     << prologue_.str() << body_.str();
  size_t k = 0;
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!args_[i].is_output) continue;
    if (k >= results_.size() || results_[k].empty())
      fail("compiler", "internal: kernel ", name_, " leaves output ", k, " unset");
    os << "  bufferization.materialize_in_destination " << results_[k] << " in restrict writable %arg" << i
       << " : (" << tensor_type(args_[i].shape, args_[i].type) << ", "
       << memref_type(args_[i].shape, args_[i].type) << ") -> ()\n";
    ++k;
  }
  os << "  return\n}\n";
  return os.str();
}

}  // namespace hgc::lower
