// Direct convolution as a generated kernel, for targets without the OpenBLAS library call
// (the GPU): one linalg.generic over (n, o, out..., c, k...) whose body reads the input
// with tensor.extract at the padded, strided, dilated position (zero outside), so it is
// an implicit GEMM with no im2col buffer. On the GPU each thread computes one output element
// over C/groups * prod(k) terms. The bias, when present, initializes the output.
#include "hgc/compiler/gpu.h"
#include "hgc/base/error.h"
#include "kernel_writer.h"

namespace hgc::gpu {

std::string convolution_kernel(const std::string& name, const std::vector<int64_t>& q) {
  using lower::Dims;
  if (q.size() != 18) fail("compiler", "convolution kernel: 18 parameters expected, got ", q.size());
  const int nsp = static_cast<int>(q[0]);
  const int64_t N = q[1], C = q[2], O = q[3], G = q[4];
  const bool bias = q[5] != 0;
  if (nsp < 1 || nsp > 2 || G < 1 || C % G || O % G) fail("compiler", "convolution kernel: bad parameters");
  const int64_t Cg = C / G, Og = O / G;
  Dims in{N, C}, wt{O, Cg}, out{N, O};
  for (int d = 0; d < nsp; ++d) in.push_back(q[6 + d]), out.push_back(q[8 + d]), wt.push_back(q[10 + d]);

  lower::KernelWriter w(name);
  std::string x = w.input(in, DType::f32), k = w.input(wt, DType::f32);
  std::string b = bias ? w.input({O}, DType::f32) : "";
  std::string y = w.output(out, DType::f32);
  const int orank = 2 + nsp, rank = orank + 1 + nsp;  // n, o, out..., c, k...
  std::vector<std::string> par(orank, "parallel");
  std::string init = bias ? w.generic({b}, {lower::affine_map(orank, {"d1"})}, y, "", par, DType::f32,
                                      [](lower::ScalarBuilder&, auto& a) { return a[0]; })
                          : w.fill(y, 0);
  std::vector<std::string> kmap = {"d1", "d" + std::to_string(orank)};
  for (int d = 0; d < nsp; ++d) kmap.push_back("d" + std::to_string(orank + 1 + d));
  std::vector<std::string> omap;
  for (int d = 0; d < orank; ++d) omap.push_back("d" + std::to_string(d));
  std::vector<std::string> iters(orank, "parallel");
  iters.insert(iters.end(), 1 + nsp, "reduction");
  std::string xtype = lower::tensor_type(in, DType::f32);
  std::string r = w.generic(
      {k}, {lower::affine_map(rank, kmap)}, init, lower::affine_map(rank, omap), iters, DType::f32,
      [&](lower::ScalarBuilder& s, auto& a) {
        auto idx = [&](int d) { return s.raw("linalg.index " + std::to_string(d) + " : index"); };
        auto cst = [&](int64_t v) { return s.raw("arith.constant " + std::to_string(v) + " : index"); };
        auto bin = [&](const char* op, const std::string& l, const std::string& rr) {
          return s.raw(std::string(op) + " " + l + ", " + rr + " : index");
        };
        // Input channel: the group's first channel + c.
        std::string ci = bin("arith.addi", bin("arith.muli", bin("arith.divui", idx(1), cst(Og)), cst(Cg)), idx(orank));
        std::string valid;
        std::vector<std::string> at = {idx(0), ci};
        for (int d = 0; d < nsp; ++d) {
          // i = o * stride + k * dilate - pad, zero outside [0, in).
          std::string i = bin("arith.subi",
                              bin("arith.addi", bin("arith.muli", idx(2 + d), cst(q[12 + d])),
                                  bin("arith.muli", idx(orank + 1 + d), cst(q[16 + d]))),
                              cst(q[14 + d]));
          std::string ok = s.raw("arith.andi " + s.raw("arith.cmpi sge, " + i + ", " + cst(0) + " : index") + ", " +
                                 s.raw("arith.cmpi slt, " + i + ", " + cst(in[2 + d]) + " : index") + " : i1");
          valid = valid.empty() ? ok : s.raw("arith.andi " + valid + ", " + ok + " : i1");
          at.push_back(s.raw("arith.select " + ok + ", " + i + ", " + cst(0) + " : index"));
        }
        std::string xv = s.raw("tensor.extract " + x + "[" + at[0] + ", " + at[1] + ", " + at[2] +
                               (nsp == 2 ? ", " + at[3] : std::string()) + "] : " + xtype);
        std::string v = s.select(valid, xv, s.constant(0));
        return s.binary("arith.addf", a[1], s.binary("arith.mulf", v, a[0]));
      },
      true);
  w.result(0, r);
  return w.finish();
}

}  // namespace hgc::gpu
