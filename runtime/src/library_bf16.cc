#include "library_bf16.h"

#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>

#include "conv_onednn.h"
#include "gemm.h"
#include "hgc/base/error.h"
#include "onednn_util.h"

namespace hgc::lib {

namespace {

using dnnl::memory;

struct Matmul {
  dnnl::matmul prim;
  memory::desc a, b, bias, c;
  size_t scratch_bytes = 0;
};

std::shared_ptr<Matmul> build(int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, bool bias) {
  auto m = std::make_shared<Matmul>();
  auto bf = memory::data_type::bf16;
  m->a = memory::desc({batch, M, K}, bf, ta ? memory::dims{M * K, 1, M} : memory::dims{M * K, K, 1});
  m->b = memory::desc({batch, K, N}, bf, tb ? memory::dims{K * N, 1, K} : memory::dims{K * N, N, 1});
  m->c = memory::desc({batch, M, N}, bf, memory::dims{M * N, N, 1});
  if (bias) m->bias = memory::desc({1, 1, N}, bf, memory::dims{N, N, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(m->a, m->b, m->bias, m->c), attr, detail::onednn_engine());
  m->scratch_bytes = pd.scratchpad_desc().get_size();
  m->prim = dnnl::matmul(pd);
  return m;
}

}  // namespace

void bf16_matmul(const bf16_t* a, const bf16_t* b, const bf16_t* bias, bf16_t* c, int64_t batch, int64_t M,
                 int64_t N, int64_t K, bool ta, bool tb) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {  // an empty sum: zeros (plus the bias)
    for (int64_t i = 0; i < batch * M * N; ++i) c[i] = bias ? bias[i % N] : 0;
    return;
  }
  const int64_t macs = batch * M * N * K;
  detail::dnnl_use_threads_for(macs);
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, bool, int>;
  Key key{batch, M, N, K, ta, tb, bias != nullptr, detail::dnnl_threads_for(macs)};
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::shared_ptr<Matmul>>();  // alive until exit
  std::shared_ptr<Matmul> m;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(key);
    if (it == cache->end()) {
      try {
        it = cache->emplace(key, build(batch, M, N, K, ta, tb, bias != nullptr)).first;
      } catch (const dnnl::error& e) {
        fail("runtime", "oneDNN rejects the bfloat16 matmul ", batch, "x", M, "x", N, "x", K, ": ", e.what());
      }
    }
    m = it->second;
  }
  thread_local detail::AlignedScratch scratch;
  const dnnl::engine& eng = detail::onednn_engine();
  dnnl::stream& stream = detail::onednn_stream();
  memory am(m->a, eng, const_cast<bf16_t*>(a)), bm(m->b, eng, const_cast<bf16_t*>(b)), cm(m->c, eng, c);
  memory sm(memory::desc({static_cast<memory::dim>(m->scratch_bytes)}, memory::data_type::u8, memory::dims{1}), eng,
            scratch.get(m->scratch_bytes));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(m->bias, eng, const_cast<bf16_t*>(bias)));
  m->prim.execute(stream, args);
  stream.wait();
}

void bf16_convolution(ConvDirection dir, const ConvShape& s, const bf16_t* a, const bf16_t* b, const bf16_t* bias,
                      bf16_t* out) {
  detail::OnednnConvs& convs = detail::onednn_convs(dir, s, bias != nullptr, true);
  detail::OnednnConv* c = convs.layout[0] ? convs.layout[0].get() : convs.layout[1].get();
  if (!c) fail("runtime", "oneDNN has no bfloat16 convolution for this shape (", s.N, "x", s.C, " -> ", s.O, ")");
  // The pointers travel as float* through ConvOperands; the primitive reads bfloat16.
  detail::run_onednn_conv(*c, {reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b),
                               reinterpret_cast<const float*>(bias), reinterpret_cast<float*>(out)});
}

}  // namespace hgc::lib
