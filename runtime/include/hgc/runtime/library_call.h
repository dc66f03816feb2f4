// A library call as data: which OpenBLAS-backed routine of runtime/library.h a step runs and
// with which integer parameters. Being plain data (not a closure) it can be serialized into
// a plan (plan_io.h) and turned back into the call where no compiler exists (AOT programs).
//
//   LibraryCall c{"matmul", {M, N, K, /*trans_a*/ 0, /*trans_b*/ 1}, {}};
//   check_library(c, infos);     // parameters vs the argument buffers; throws hgc::Error
//   run_library(c, step_args);   // a, b, c = step_args.ptrs[0..2]
//
// Kinds, parameters and arguments (in the order the call takes them; the output is last):
//   fully_connected  {M, N, K, has_bias}                 x[M,K], w[N,K], (b[N]), y[M,N]
//   matmul           {M, N, K, trans_a, trans_b}          a, b, c[M,N]
//   batch_matmul     {B, M, N, K, trans_a, trans_b}       a, b, c[B,M,N]
//   convolution      {nsp, N, C, O, groups, has_bias, in0, in1, out0, out1, k0, k1,
//                     stride0, stride1, pad0, pad1, dilate0, dilate1}
//                                                         x, w, (b), y   (NC(H)W)
//   deconvolution    (convolution's parameters; in = the input's spatial size, out = the
//                     output's, pad the effective padding)   x, w[C,O/g,k], (b), y
//   conv_data_grad   (convolution's parameters, has_bias 0)  dy, w, dx
//   conv_weight_grad (convolution's parameters, has_bias 0)  dy, x, dw
//   im2col           {nsp, N, C, in0, in1, out0, out1, k0, k1, stride0, stride1, pad0, pad1,
//                     dilate0, dilate1}                   x[N,C,in], col[N,C*k,out]
//   col2im           (the same parameters)                col[N,C*k,out], x[N,C,in]
//   multibox_target  {B, A, L, W, C, overlap_threshold, ignore_label, negative_mining_ratio,
//                     negative_mining_thresh, minimum_negative_samples, variances x4}
//                                                         anchor[A,4], label[B,L,W], cls_pred[B,C,A],
//                                                         loc_target[B,4A], loc_mask[B,4A], cls_target[B,A]
//   multibox_detection {B, C, A, clip, threshold, nms_threshold, force_suppress, nms_topk (0: all),
//                     variances x4}                       cls_prob[B,C,A], loc_pred[B,4A], anchor[A,4], out[B,A,6]
//   box_nms          {B, N, W, overlap_thresh, valid_thresh, topk (N+1: all), coord_start, score_index,
//                     id_index+1, background_id, force_suppress, in_center, out_center}
//                                                         data[B,N,W], out[B,N,W], record[B,N]
//   (detection parameters named like thresholds are float32 bit patterns, library_detection.h)
#pragma once
#include <bit>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hgc {

struct BufferInfo;
struct StepArgs;

// A float attribute carried in LibraryCall::params as its float32 bit pattern (a
// non-negative integer), which keeps the plan format integer-only.
namespace lib {
inline int64_t float_param(float v) { return static_cast<int64_t>(std::bit_cast<uint32_t>(v)); }
inline float param_float(int64_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits)); }
}  // namespace lib

struct LibraryCall {
  std::string kind;              // empty: no library call
  std::vector<int64_t> params;
  // The step arguments the call takes, as indices into the step's args, in order; empty:
  // all of them as they are. (A GEMM head inside a kernel group reads only some of the
  // group's inputs.)
  std::vector<int> operands;
  bool empty() const { return kind.empty(); }
};

// Runs the call on the step's argument pointers (selected through `operands`).
void run_library(const LibraryCall& call, const StepArgs& args);
// Does the call's one-off setup ahead of its first run where it has one (fully_connected:
// its oneDNN primitives); nothing otherwise. Optional: run_library does it when missing.
void prepare_library(const LibraryCall& call);
// A closure for Step::library.
std::function<void(const StepArgs&)> make_library(LibraryCall call);
// Checks the kind, the parameter and operand counts and that every operand buffer is
// float32 and large enough for what the call reads or writes; `step_args` are the buffer
// infos of the step's arguments (before `operands` selection). Throws hgc::Error("runtime").
void check_library(const LibraryCall& call, const std::vector<const BufferInfo*>& step_args);

}  // namespace hgc
