// LibraryCall -> the OpenBLAS-backed routines of library.h. The parameter layouts are listed
// in library_call.h; the compiler's library lowerings (compiler/src/lower/) write them, plans loaded
// from bytes are checked against their buffers by check_library before they run.
#include <utility>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/base/allocator.h"
#include "hgc/runtime/executable.h"
#include "hgc/runtime/library.h"
#include "hgc/runtime/library_call.h"
#include "library_bf16.h"
#include "library_detection.h"

namespace hgc {
namespace {

struct Spec {
  const char* kind;
  size_t nparams;
};
constexpr Spec kSpecs[] = {{"fully_connected", 4}, {"matmul", 5}, {"batch_matmul", 6}, {"convolution", 18},
                           {"conv_data_grad", 18},  {"conv_weight_grad", 18}, {"deconvolution", 18},
                           {"im2col", 15},          {"col2im", 15},
                           {"multibox_target", 14}, {"multibox_detection", 12}, {"box_nms", 13}};

}  // namespace

lib::ConvShape lib::conv_shape_from_params(const std::vector<int64_t>& p) {
  lib::ConvShape s{};
  s.nsp = static_cast<int>(p[0]);
  s.N = p[1], s.C = p[2], s.O = p[3], s.groups = p[4];
  for (int d = 0; d < 2; ++d) {
    s.in[d] = p[6 + d], s.out[d] = p[8 + d], s.k[d] = p[10 + d];
    s.stride[d] = p[12 + d], s.pad[d] = p[14 + d], s.dilate[d] = p[16 + d];
  }
  return s;
}

namespace {

// im2col/col2im parameters: {nsp, N, C, in0, in1, out0, out1, k0, k1, stride.., pad.., dilate..}.
lib::ConvShape window_shape(const std::vector<int64_t>& p) {
  lib::ConvShape s{};
  s.nsp = static_cast<int>(p[0]);
  s.N = p[1], s.C = p[2], s.O = p[2], s.groups = 1;
  for (int d = 0; d < 2; ++d) {
    s.in[d] = p[3 + d], s.out[d] = p[5 + d], s.k[d] = p[7 + d];
    s.stride[d] = p[9 + d], s.pad[d] = p[11 + d], s.dilate[d] = p[13 + d];
  }
  return s;
}

// Detection parameters (library_detection.h): dims, then float32 bit patterns.
lib::MultiBoxTargetShape target_shape(const std::vector<int64_t>& p) {
  auto f = [&](size_t i) { return lib::param_float(p[i]); };
  lib::MultiBoxTargetShape s{p[0], p[1], p[2], p[3], p[4], f(5), f(6), f(7), f(8), p[9], {f(10), f(11), f(12), f(13)}};
  return s;
}
lib::MultiBoxDetectionShape detection_shape(const std::vector<int64_t>& p) {
  auto f = [&](size_t i) { return lib::param_float(p[i]); };
  lib::MultiBoxDetectionShape s{p[0], p[1], p[2], p[3] != 0, f(4), f(5), p[6] != 0, p[7], {f(8), f(9), f(10), f(11)}};
  return s;
}
// topk is stored as min(N, topk) for topk >= 0 and N + 1 for "every box"; id_index + 1 (0: none).
lib::BoxNmsShape nms_shape(const std::vector<int64_t>& p) {
  auto f = [&](size_t i) { return lib::param_float(p[i]); };
  lib::BoxNmsShape s{p[0], p[1], p[2], f(3), f(4), p[5] > p[1] ? -1 : p[5], p[6], p[7], p[8] - 1, f(9),
                     p[10] != 0, p[11] != 0, p[12] != 0};
  return s;
}

// The k-th operand pointer in call order.
float* operand(const LibraryCall& c, const StepArgs& a, size_t k) {
  return static_cast<float*>(a.ptrs[c.operands.empty() ? k : static_cast<size_t>(c.operands[k])]);
}

size_t operand_count(const LibraryCall& c, const StepArgs& a) {
  return c.operands.empty() ? a.ptrs.size() : c.operands.size();
}

enum class Kind {
  FullyConnected, Matmul, BatchMatmul, Convolution, ConvDataGrad, ConvWeightGrad, Deconvolution, Im2col, Col2im,
  MultiBoxTarget, MultiBoxDetection, BoxNms
};

// "<kind>_bf16": the same call on bfloat16 operands (library_bf16.h); the GEMM and
// convolution kinds have one.
constexpr const char* kBf16Suffix = "_bf16";
bool is_bf16(const std::string& kind) {
  return kind.size() > 5 && kind.compare(kind.size() - 5, 5, kBf16Suffix) == 0;
}
std::string base_kind(const std::string& kind) { return is_bf16(kind) ? kind.substr(0, kind.size() - 5) : kind; }

Kind kind_of(const std::string& full) {
  const std::string kind = base_kind(full);
  static const std::pair<const char*, Kind> kinds[] = {
      {"fully_connected", Kind::FullyConnected}, {"matmul", Kind::Matmul},
      {"batch_matmul", Kind::BatchMatmul},       {"convolution", Kind::Convolution},
      {"conv_data_grad", Kind::ConvDataGrad},    {"conv_weight_grad", Kind::ConvWeightGrad},
      {"deconvolution", Kind::Deconvolution},    {"im2col", Kind::Im2col},
      {"col2im", Kind::Col2im},                  {"multibox_target", Kind::MultiBoxTarget},
      {"multibox_detection", Kind::MultiBoxDetection}, {"box_nms", Kind::BoxNms}};
  for (const auto& [name, k] : kinds)
    if (kind == name) {
      if (is_bf16(full) && (k == Kind::Deconvolution || k == Kind::Im2col || k == Kind::Col2im ||
                            k >= Kind::MultiBoxTarget))
        break;
      return k;
    }
  fail("runtime", "unknown library call '", full, "'");
}

void run_bf16(Kind kind, const LibraryCall& c, const StepArgs& a) {
  const std::vector<int64_t>& q = c.params;
  auto f = [&](size_t k) { return reinterpret_cast<lib::bf16_t*>(operand(c, a, k)); };
  const size_t last = operand_count(c, a) - 1;
  // A float32 output buffer: the GEMM writes float32 (fuse.h, gemm_widens).
  auto mm = [&](const lib::bf16_t* x, const lib::bf16_t* y, const lib::bf16_t* bias, size_t out, int64_t batch,
                int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
    size_t slot = c.operands.empty() ? out : static_cast<size_t>(c.operands[out]);
    if (slot < a.infos.size() && a.infos[slot] && a.infos[slot]->dtype == DType::f32)
      lib::bf16_matmul_f32_out(x, y, bias, reinterpret_cast<float*>(operand(c, a, out)), batch, M, N, K, ta, tb);
    else
      lib::bf16_matmul(x, y, bias, f(out), batch, M, N, K, ta, tb);
  };
  switch (kind) {
    case Kind::FullyConnected:  // y = x . w^T + b
      mm(f(0), f(1), q[3] ? f(2) : nullptr, last, 1, q[0], q[1], q[2], false, true);
      break;
    case Kind::Matmul: mm(f(0), f(1), nullptr, 2, 1, q[0], q[1], q[2], q[3] != 0, q[4] != 0); break;
    case Kind::BatchMatmul: mm(f(0), f(1), nullptr, 2, q[0], q[1], q[2], q[3], q[4] != 0, q[5] != 0); break;
    case Kind::Convolution:
      lib::bf16_convolution(lib::ConvDirection::Forward, lib::conv_shape_from_params(q), f(0), f(1), q[5] ? f(2) : nullptr, f(last));
      break;
    case Kind::ConvDataGrad:
      lib::bf16_convolution(lib::ConvDirection::DataGrad, lib::conv_shape_from_params(q), f(0), f(1), nullptr, f(2));
      break;
    case Kind::ConvWeightGrad:
      lib::bf16_convolution(lib::ConvDirection::WeightGrad, lib::conv_shape_from_params(q), f(0), f(1), nullptr, f(2));
      break;
    default: fail("runtime", "library call ", c.kind, " has no bfloat16 form");
  }
}

// The call with its kind already resolved (make_library does that once, not per run).
void run_kind(Kind kind, const LibraryCall& c, const StepArgs& a) {
  const std::vector<int64_t>& q = c.params;
  auto f = [&](size_t k) { return operand(c, a, k); };
  const size_t last = operand_count(c, a) - 1;
  switch (kind) {
    case Kind::FullyConnected:
      lib::fully_connected(f(0), f(1), q[3] ? f(2) : nullptr, f(last), q[0], q[1], q[2]);
      break;
    case Kind::Matmul: lib::matmul(f(0), f(1), f(2), q[0], q[1], q[2], q[3] != 0, q[4] != 0); break;
    case Kind::BatchMatmul: lib::batch_matmul(f(0), f(1), f(2), q[0], q[1], q[2], q[3], q[4] != 0, q[5] != 0); break;
    case Kind::Convolution:
    case Kind::ConvDataGrad:
    case Kind::ConvWeightGrad: {
      lib::ConvShape s = lib::conv_shape_from_params(q);
      // Not zeroed: every call writes its workspace before reading it.
      PooledBuffer workspace(sizeof(float) * static_cast<size_t>(lib::convolution_workspace(s)));
      float* ws = static_cast<float*>(workspace.get());
      if (kind == Kind::Convolution) lib::convolution(s, f(0), f(1), q[5] ? f(2) : nullptr, f(last), ws);
      else if (kind == Kind::ConvDataGrad) lib::conv_data_grad(s, f(0), f(1), f(2), ws);
      else lib::conv_weight_grad(s, f(0), f(1), f(2), ws);
      break;
    }
    case Kind::Deconvolution: {
      lib::ConvShape s = lib::conv_shape_from_params(q);
      std::vector<float> workspace(static_cast<size_t>(lib::deconvolution_workspace(s)));
      lib::deconvolution(s, f(0), f(1), q[5] ? f(2) : nullptr, f(last), workspace.data());
      break;
    }
    case Kind::Im2col: lib::im2col(window_shape(q), f(0), f(1)); break;
    case Kind::Col2im: lib::col2im(window_shape(q), f(0), f(1)); break;
    case Kind::MultiBoxTarget: lib::multibox_target(target_shape(q), f(0), f(1), f(2), f(3), f(4), f(5)); break;
    case Kind::MultiBoxDetection: lib::multibox_detection(detection_shape(q), f(0), f(1), f(2), f(3)); break;
    case Kind::BoxNms: lib::box_nms(nms_shape(q), f(0), f(1), f(2)); break;
  }
}

// a * b * ..., or -1 past 2^62 (so hostile parameters cannot wrap around a size check).
int64_t product(std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs)
    if (x < 0 || __builtin_mul_overflow(p, x, &p) || p > (int64_t(1) << 62)) return -1;
  return p;
}

}  // namespace

// library_int8.cc: the int8 inference kinds.
bool is_int8_library(const std::string& kind);
void run_int8_library(const LibraryCall& c, const StepArgs& a);
void check_int8_library(const LibraryCall& c, const std::vector<const BufferInfo*>& step_args);

void run_library(const LibraryCall& c, const StepArgs& a) {
  if (is_int8_library(c.kind)) return run_int8_library(c, a);
  if (is_bf16(c.kind)) run_bf16(kind_of(c.kind), c, a);
  else run_kind(kind_of(c.kind), c, a);
}

void prepare_library(const LibraryCall& c) {
  if (c.kind == "fully_connected" && c.params.size() == 4)
    lib::prepare_fully_connected(c.params[0], c.params[1], c.params[2], c.params[3] != 0);
}

std::function<void(const StepArgs&)> make_library(LibraryCall call) {
  if (is_int8_library(call.kind)) return [call = std::move(call)](const StepArgs& a) { run_int8_library(call, a); };
  Kind kind = kind_of(call.kind);
  if (is_bf16(call.kind)) return [kind, call = std::move(call)](const StepArgs& a) { run_bf16(kind, call, a); };
  return [kind, call = std::move(call)](const StepArgs& a) { run_kind(kind, call, a); };
}

void check_library(const LibraryCall& full, const std::vector<const BufferInfo*>& step_args) {
  if (is_int8_library(full.kind)) return check_int8_library(full, step_args);
  (void)kind_of(full.kind);  // unknown kinds and kinds without a bfloat16 form fail here
  const DType elem = is_bf16(full.kind) ? DType::bf16 : DType::f32;
  LibraryCall c = full;
  c.kind = base_kind(full.kind);
  const Spec* spec = nullptr;
  for (const Spec& s : kSpecs)
    if (c.kind == s.kind) spec = &s;
  if (!spec) fail("runtime", "unknown library call '", c.kind, "'");
  if (c.params.size() != spec->nparams)
    fail("runtime", "library call ", c.kind, " takes ", spec->nparams, " parameters, got ", c.params.size());
  for (int64_t v : c.params)
    if (v < 0) fail("runtime", "library call ", c.kind, ": negative parameter ", v);
  std::vector<const BufferInfo*> ops;
  if (c.operands.empty()) ops = step_args;
  for (int k : c.operands) {
    if (k < 0 || static_cast<size_t>(k) >= step_args.size())
      fail("runtime", "library call ", c.kind, ": operand ", k, " is not one of the step's ", step_args.size(),
           " arguments");
    ops.push_back(step_args[k]);
  }
  const std::vector<int64_t>& q = c.params;
  // Elements each operand must hold, in call order.
  std::vector<int64_t> need;
  if (c.kind == "fully_connected") {
    need = {product({q[0], q[2]}), product({q[1], q[2]})};
    if (q[3]) need.push_back(q[1]);
    need.push_back(product({q[0], q[1]}));
  } else if (c.kind == "matmul") {
    need = {product({q[0], q[2]}), product({q[2], q[1]}), product({q[0], q[1]})};
  } else if (c.kind == "batch_matmul") {
    need = {product({q[0], q[1], q[3]}), product({q[0], q[3], q[2]}), product({q[0], q[1], q[2]})};
  } else if (c.kind == "multibox_target") {  // anchor, label, cls_pred -> loc, mask, cls
    int64_t b = q[0], a = q[1];
    need = {product({a, 4}), product({b, q[2], q[3]}), product({b, q[4], a}), product({b, a, 4}), product({b, a, 4}),
            product({b, a})};
    if (q[3] < 5) fail("runtime", c.kind, ": label width ", q[3], " < 5");
  } else if (c.kind == "multibox_detection") {  // cls_prob, loc_pred, anchor -> out
    int64_t b = q[0], a = q[2];
    need = {product({b, q[1], a}), product({b, a, 4}), product({a, 4}), product({b, a, 6})};
  } else if (c.kind == "box_nms") {  // data -> out, record
    int64_t w = q[2];
    if (q[6] + 3 >= w || q[7] >= w || q[8] > w) fail("runtime", c.kind, ": box columns out of range of width ", w);
    need = {product({q[0], q[1], w}), product({q[0], q[1], w}), product({q[0], q[1]})};
  } else if (c.kind == "im2col" || c.kind == "col2im") {
    lib::ConvShape s = window_shape(q);
    if (s.nsp < 1 || s.nsp > 2) fail("runtime", c.kind, ": ", s.nsp, " spatial dims");
    int64_t in = 1, out = 1, kk = 1;
    for (int d = 0; d < s.nsp; ++d) {
      if (s.k[d] < 1 || s.stride[d] < 1 || s.dilate[d] < 1) fail("runtime", c.kind, ": bad kernel/stride/dilate");
      in = product({in, s.in[d]}), out = product({out, s.out[d]}), kk = product({kk, s.k[d]});
    }
    need = {product({s.N, s.C, in}), product({s.N, s.C, kk, out})};
    if (c.kind == "col2im") std::swap(need[0], need[1]);
  } else {
    lib::ConvShape s = lib::conv_shape_from_params(q);
    bool deconv = c.kind == "deconvolution";
    if (s.nsp < 1 || s.nsp > 2) fail("runtime", c.kind, ": ", s.nsp, " spatial dims");
    if (s.groups < 1 || s.C % s.groups || s.O % s.groups)
      fail("runtime", c.kind, ": ", s.groups, " groups do not divide ", s.C, " -> ", s.O, " channels");
    int64_t in = 1, out = 1, kk = 1;
    for (int d = 0; d < s.nsp; ++d) {
      if (s.k[d] < 1 || s.stride[d] < 1 || s.dilate[d] < 1) fail("runtime", c.kind, ": bad kernel/stride/dilate");
      in = product({in, s.in[d]}), out = product({out, s.out[d]}), kk = product({kk, s.k[d]});
    }
    // Weights: convolution and its gradients (O, C/g, k...), deconvolution (C, O/g, k...).
    int64_t x = product({s.N, s.C, in}), y = product({s.N, s.O, out});
    int64_t w = deconv ? product({s.C, s.O / s.groups, kk}) : product({s.O, s.C / s.groups, kk});
    if (c.kind == "convolution" || deconv) {
      need = {x, w};
      if (q[5]) need.push_back(s.O);
      need.push_back(y);
    } else {
      if (q[5]) fail("runtime", c.kind, ": takes no bias");
      need = c.kind == "conv_data_grad" ? std::vector<int64_t>{y, w, x} : std::vector<int64_t>{y, x, w};
    }
    if ((deconv ? lib::deconvolution_workspace(s) : lib::convolution_workspace(s)) < 0)
      fail("runtime", c.kind, ": workspace too large");
  }
  if (ops.size() != need.size())
    fail("runtime", "library call ", c.kind, " takes ", need.size(), " operands, got ", ops.size());
  for (size_t k = 0; k < need.size(); ++k) {
    if (need[k] < 0) fail("runtime", "library call ", c.kind, ": parameters overflow");
    // A bfloat16 GEMM may write float32 (fuse.h, gemm_widens).
    const bool widened = elem == DType::bf16 && k + 1 == need.size() && ops[k]->dtype == DType::f32 &&
                         (c.kind == "fully_connected" || c.kind == "matmul" || c.kind == "batch_matmul");
    const DType want = widened ? DType::f32 : elem;
    if (ops[k]->dtype != want)
      fail("runtime", "library call ", full.kind, ": operand ", k, " (", ops[k]->name, ") is not ", dtype_name(elem));
    if (ops[k]->nbytes() / dtype_size(want) < static_cast<uint64_t>(need[k]))
      fail("runtime", "library call ", full.kind, ": operand ", k, " (", ops[k]->name, ") holds ",
           ops[k]->nbytes() / dtype_size(want), " elements, the call needs ", need[k]);
  }
}

}  // namespace hgc
