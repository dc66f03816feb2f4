#include "conv_onednn.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "gemm.h"
#include "onednn_util.h"
#include "hgc/base/error.h"
#include "hgc/runtime/thread_pool.h"

namespace hgc::lib::detail {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// Operand slots of a call: the two inputs and the output (ConvOperands a, b, out).
constexpr int kSlots = 3;

}  // namespace

struct OnednnConv {
  dnnl::primitive conv;
  int args[kSlots];                                 // DNNL_ARG_* of a, b, out
  memory::desc user[kSlots], inner[kSlots];         // plain layouts vs the primitive's
  bool reorder[kSlots] = {};
  dnnl::reorder to_inner[kSlots], to_user[kSlots];  // where the layouts differ
  bool has_bias = false;
  memory::data_type dt = memory::data_type::f32;  // of every operand (bfloat16 or float32)
  size_t scratch_bytes = 0;
  std::string impl;
};

namespace {

// Per calling thread: buffers of reordered operands and of the primitive's scratchpad.
struct ThreadState {
  AlignedScratch bufs[kSlots + 1];
};
ThreadState& thread_state() {
  thread_local ThreadState t;
  return t;
}

memory::dims dims_of(std::initializer_list<int64_t> lead, const int64_t* sp, int nsp) {
  memory::dims d(lead);
  for (int i = 0; i < nsp; ++i) d.push_back(sp[i]);
  return d;
}

// The primitive of (dir, s), or null where oneDNN rejects it.
std::unique_ptr<OnednnConv> build(ConvDirection dir, const ConvShape& s, bool has_bias, OnednnLayout layout,
                                  bool bf16) {
  const int n = s.nsp;
  memory::dims src = dims_of({s.N, s.C}, s.in, n), dst = dims_of({s.N, s.O}, s.out, n);
  memory::dims wei = s.groups == 1 ? dims_of({s.O, s.C}, s.k, n)
                                   : dims_of({s.groups, s.O / s.groups, s.C / s.groups}, s.k, n);
  memory::dims strides, dilates, pad_l, pad_r;
  for (int d = 0; d < n; ++d) {
    strides.push_back(s.stride[d]);
    dilates.push_back(s.dilate[d] - 1);  // oneDNN counts the gaps between taps
    pad_l.push_back(s.pad[d]);
    // MXNet's output size rounds down: the right padding is what the last window needs.
    pad_r.push_back((s.out[d] - 1) * s.stride[d] + (s.k[d] - 1) * s.dilate[d] + 1 - s.in[d] - s.pad[d]);
  }
  Tag act = n == 2 ? Tag::nchw : Tag::ncw;
  Tag wtag = s.groups == 1 ? (n == 2 ? Tag::oihw : Tag::oiw) : (n == 2 ? Tag::goihw : Tag::goiw);
  // bfloat16 calls take bfloat16 operands (and bias) and accumulate in float32 inside oneDNN.
  auto dt = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  Tag inner_act = layout == OnednnLayout::Any ? Tag::any : (n == 2 ? Tag::nhwc : Tag::nwc);
  memory::desc src_any(src, dt, inner_act), dst_any(dst, dt, inner_act), wei_any(wei, dt, Tag::any);
  memory::desc bias_md = has_bias ? memory::desc({s.O}, dt, Tag::x) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::engine& eng = onednn_engine();
  auto c = std::make_unique<OnednnConv>();
  c->has_bias = has_bias;
  c->dt = dt;
  memory::desc inner[kSlots];
  try {
    auto alg = dnnl::algorithm::convolution_direct;
    dnnl::convolution_forward::primitive_desc fwd(
        dnnl::convolution_forward::desc(dir == ConvDirection::Forward ? dnnl::prop_kind::forward_inference
                                                                      : dnnl::prop_kind::forward_training,
                                        alg, src_any, wei_any, bias_md, dst_any, strides, dilates, pad_l, pad_r),
        attr, eng);
    if (dir == ConvDirection::Forward) {
      c->conv = dnnl::convolution_forward(fwd);
      inner[0] = fwd.src_desc(), inner[1] = fwd.weights_desc(), inner[2] = fwd.dst_desc();
      c->args[0] = DNNL_ARG_SRC, c->args[1] = DNNL_ARG_WEIGHTS, c->args[2] = DNNL_ARG_DST;
      c->user[0] = memory::desc(src, dt, act), c->user[1] = memory::desc(wei, dt, wtag);
      c->user[2] = memory::desc(dst, dt, act);
      c->scratch_bytes = fwd.scratchpad_desc().get_size(), c->impl = fwd.impl_info_str();
    } else if (dir == ConvDirection::DataGrad) {
      dnnl::convolution_backward_data::primitive_desc pd(
          dnnl::convolution_backward_data::desc(alg, src_any, wei_any, dst_any, strides, dilates, pad_l, pad_r), attr,
          eng, fwd);
      c->conv = dnnl::convolution_backward_data(pd);
      inner[0] = pd.diff_dst_desc(), inner[1] = pd.weights_desc(), inner[2] = pd.diff_src_desc();
      c->args[0] = DNNL_ARG_DIFF_DST, c->args[1] = DNNL_ARG_WEIGHTS, c->args[2] = DNNL_ARG_DIFF_SRC;
      c->user[0] = memory::desc(dst, dt, act), c->user[1] = memory::desc(wei, dt, wtag);
      c->user[2] = memory::desc(src, dt, act);
      c->scratch_bytes = pd.scratchpad_desc().get_size(), c->impl = pd.impl_info_str();
    } else {
      dnnl::convolution_backward_weights::primitive_desc pd(
          dnnl::convolution_backward_weights::desc(alg, src_any, wei_any, dst_any, strides, dilates, pad_l, pad_r),
          attr, eng, fwd);
      c->conv = dnnl::convolution_backward_weights(pd);
      inner[0] = pd.diff_dst_desc(), inner[1] = pd.src_desc(), inner[2] = pd.diff_weights_desc();
      c->args[0] = DNNL_ARG_DIFF_DST, c->args[1] = DNNL_ARG_SRC, c->args[2] = DNNL_ARG_DIFF_WEIGHTS;
      c->user[0] = memory::desc(dst, dt, act), c->user[1] = memory::desc(src, dt, act);
      c->user[2] = memory::desc(wei, dt, wtag);
      c->scratch_bytes = pd.scratchpad_desc().get_size(), c->impl = pd.impl_info_str();
    }
    for (int k = 0; k < kSlots; ++k) {
      c->inner[k] = inner[k];
      c->reorder[k] = inner[k] != c->user[k];
      if (!c->reorder[k]) continue;
      if (k < 2)
        c->to_inner[k] = dnnl::reorder(dnnl::reorder::primitive_desc(eng, c->user[k], eng, inner[k]));
      else
        c->to_user[k] = dnnl::reorder(dnnl::reorder::primitive_desc(eng, inner[k], eng, c->user[k]));
    }
  } catch (const dnnl::error&) {
    return nullptr;  // unimplemented or invalid for oneDNN: the caller keeps im2col
  }
  return c;
}

struct Key {
  std::vector<int64_t> v;
  bool operator<(const Key& o) const { return v < o.v; }
};

}  // namespace

OnednnConvs::~OnednnConvs() = default;

OnednnConvs& onednn_convs(ConvDirection dir, const ConvShape& s, bool has_bias, bool bf16) {
  dnnl_use_pool_threads();
  // Primitives are tuned to the thread count they are created under (oneDNN fixes some
  // kernels' team size then): one thread inside a Serial scope (a step of a group).
  Key key{{static_cast<int64_t>(dir), has_bias, bf16, pool_threads(), s.nsp, s.N, s.C, s.O, s.groups}};
  for (int d = 0; d < s.nsp; ++d)
    key.v.insert(key.v.end(), {s.in[d], s.out[d], s.k[d], s.stride[d], s.pad[d], s.dilate[d]});
  static std::mutex mu;
  static std::map<Key, std::unique_ptr<OnednnConvs>> cache;  // entries never move or go
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<OnednnConvs>& e = cache[key];
  if (!e) {
    e = std::make_unique<OnednnConvs>();
    for (int l = 0; l < kOnednnLayouts; ++l) e->layout[l] = build(dir, s, has_bias, static_cast<OnednnLayout>(l), bf16);
    OnednnConv *any = e->layout[0].get(), *last = e->layout[1].get();
    bool same = any && last && any->impl == last->impl;
    for (int k = 0; same && k < kSlots; ++k) same = any->inner[k] == last->inner[k];
    if (same) e->layout[1].reset();  // nothing new to measure
  }
  return *e;
}

void run_onednn_conv(OnednnConv& c, const ConvOperands& ops) {
  dnnl_use_pool_threads();
  ThreadState& t = thread_state();
  const dnnl::engine& eng = onednn_engine();
  dnnl::stream& stream = onednn_stream();
  void* user_ptr[kSlots] = {const_cast<float*>(ops.a), const_cast<float*>(ops.b), ops.out};
  try {
    std::unordered_map<int, memory> args;
    memory user[kSlots], inner[kSlots];
    for (int k = 0; k < kSlots; ++k) {
      user[k] = memory(c.user[k], eng, user_ptr[k]);
      inner[k] = c.reorder[k] ? memory(c.inner[k], eng, t.bufs[k].get(c.inner[k].get_size())) : user[k];
      if (c.reorder[k] && k < 2) c.to_inner[k].execute(stream, user[k], inner[k]);
      args.emplace(c.args[k], inner[k]);
    }
    if (c.has_bias)
      args.emplace(DNNL_ARG_BIAS, memory(memory::desc({c.user[2].dims()[1]}, c.dt, Tag::x), eng,
                                         const_cast<float*>(ops.bias)));
    if (c.scratch_bytes)
      args.emplace(DNNL_ARG_SCRATCHPAD, memory(memory::desc({static_cast<int64_t>(c.scratch_bytes)},
                                                            memory::data_type::u8, Tag::x),
                                               eng, t.bufs[kSlots].get(c.scratch_bytes)));
    c.conv.execute(stream, args);
    if (c.reorder[2]) c.to_user[2].execute(stream, inner[2], user[2]);
    stream.wait();
  } catch (const dnnl::error& e) {
    fail("runtime", "oneDNN convolution (", c.impl, ") failed: ", e.what());
  }
}

const char* onednn_conv_impl(const OnednnConv& c) { return c.impl.c_str(); }

}  // namespace hgc::lib::detail
