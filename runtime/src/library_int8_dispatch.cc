// The dispatch of the int8 library calls (library_int8.h, library_int8_ops.cc): parameter
// lists to typed arguments, and the checks made when a plan is loaded.
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/library_call.h"
#include "hgc/runtime/library_int8.h"

// ---- dispatch (library_call.h's run/check entry points defer here for these kinds) ----

namespace hgc {
namespace {

constexpr const char* kInt8Kinds[] = {"quantize_v2", "dequantize", "requantize", "int8_conv", "int8_fc"};
constexpr size_t kInt8Params[] = {6, 2, 5, 18 + lib::ConvFlags::kCount, 4 + lib::FcFlags::kCount};

lib::QuantParams quant_params(const std::vector<int64_t>& q, bool requant) {
  lib::QuantParams p;
  p.n = q[0], p.out_dtype = static_cast<int>(q[1]);
  size_t k = 2;
  if (!requant) p.in_dtype = static_cast<int>(q[k++]);
  p.has_calib = q[k], p.min_calib = lib::param_float(q[k + 1]), p.max_calib = lib::param_float(q[k + 2]);
  return p;
}

}  // namespace

// library_int8_ops.cc: the `_contrib_quantized_*` kinds.
bool is_int8_ops_library(const std::string& kind);
void run_int8_ops_library(const LibraryCall& c, const StepArgs& a);
void check_int8_ops_library(const LibraryCall& c, const std::vector<const BufferInfo*>& step_args);

bool is_int8_library(const std::string& kind) {
  if (is_int8_ops_library(kind)) return true;
  for (const char* k : kInt8Kinds)
    if (kind == k) return true;
  return false;
}

void run_int8_library(const LibraryCall& c, const StepArgs& a) {
  if (is_int8_ops_library(c.kind)) return run_int8_ops_library(c, a);
  std::vector<void*> p;
  if (c.operands.empty()) p = a.ptrs;
  else
    for (int k : c.operands) p.push_back(a.ptrs[static_cast<size_t>(k)]);
  const std::vector<int64_t>& q = c.params;
  auto f = [&](size_t k) { return static_cast<float*>(p[k]); };
  if (c.kind == "quantize_v2") lib::quantize_v2(quant_params(q, false), p[0], p[1], f(2), f(3));
  else if (c.kind == "dequantize") lib::dequantize(q[0], static_cast<int>(q[1]), p[0], f(1), f(2), f(3));
  else if (c.kind == "requantize")
    lib::requantize(quant_params(q, true), static_cast<const int32_t*>(p[0]), f(1), f(2), p[3], f(4), f(5));
  else if (c.kind == "int8_conv")
    lib::int8_conv(lib::conv_shape_from_params(q), q[5] != 0, lib::ConvFlags::read(q.data() + 18), p);
  else if (c.kind == "int8_fc") lib::int8_fc(q[0], q[1], q[2], q[3] != 0, lib::FcFlags::read(q.data() + 4), p);
  else fail("runtime", "unknown library call '", c.kind, "'");
}

void check_int8_library(const LibraryCall& c, const std::vector<const BufferInfo*>& step_args) {
  if (is_int8_ops_library(c.kind)) return check_int8_ops_library(c, step_args);
  size_t want = 0;
  for (size_t i = 0; i < std::size(kInt8Kinds); ++i)
    if (c.kind == kInt8Kinds[i]) want = kInt8Params[i];
  if (c.params.size() != want)
    fail("runtime", "library call ", c.kind, " takes ", want, " parameters, got ", c.params.size());
  for (int k : c.operands)
    if (k < 0 || static_cast<size_t>(k) >= step_args.size())
      fail("runtime", "library call ", c.kind, ": operand ", k, " is not one of the step's ", step_args.size(), " arguments");
  const size_t n = c.operands.empty() ? step_args.size() : c.operands.size();
  size_t need = c.kind == "quantize_v2" ? 4 : c.kind == "dequantize" ? 4 : c.kind == "requantize" ? 6 : 0;
  if (need && n != need) fail("runtime", "library call ", c.kind, " takes ", need, " operands, got ", n);
  if (c.kind == "int8_conv" && (c.params[0] < 1 || c.params[0] > 2))
    fail("runtime", "library call int8_conv: ", c.params[0], " spatial dims");
}

}  // namespace hgc
