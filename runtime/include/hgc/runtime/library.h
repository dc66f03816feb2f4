// Library calls of the runtime: GEMM-shaped work on oneDNN's sgemm (runtime/src/gemm.h;
// 130-200 GFLOP/s on one core here, far above generated loops) and OpenBLAS's sgemv, and the
// im2col/col2im data movement around them. Generated code does everything else.
//
//   fully_connected(x, w, b, y, M, N, K);   // y[M,N] = x[M,K] . w[N,K]^T + b[N]
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hgc::lib {

// Ends OpenBLAS's server threads now (OpenBLAS starts them again at its next threaded call).
// They spin (sched_yield) for ~2^28 cycles after start-up and after each job: in a program that
// then runs no OpenBLAS call, a third busy thread on the cores the thread pool works on (a
// 2-thread W1b program: 73 -> 129 us a forward in some runs with OPENBLAS_NUM_THREADS=2).
void park_blas_threads();
// y = x . w^T (+ b when b != nullptr); row-major.
void fully_connected(const float* x, const float* w, const float* b, float* y, int64_t M, int64_t N, int64_t K);
// Does ahead of time the one-off work of fully_connected's first calls at this shape (oneDNN
// primitive creation, which generates code), so that they run at steady speed. Optional.
void prepare_fully_connected(int64_t M, int64_t N, int64_t K, bool has_bias);
// c[M,N] = op(a) . op(b) where op transposes when asked; a is [M,K] (or [K,M]), b [K,N] (or [N,K]).
void matmul(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b);
// Both compute from the nonzeros only when a large product's activation operand (fully
// connected: x; matmul: a or b) has at most kSparseMaxDensity of them, e.g. a click matrix:
// the same sums in another order, except that the dense operand's Inf/NaN always go dense.
// At Mult-VAE's shapes (500 x 600 x 20108, one thread) the sparse path took 15 ms at 1 %
// density, 35 ms at 5 % and 55-64 ms at 10 %, where oneDNN's dense sgemm takes ~60 ms:
// half the break-even density leaves a margin for other shapes and machines.
constexpr double kSparseMaxDensity = 0.05;
// How many calls took that path so far (all threads): lets tests see which path ran.
uint64_t sparse_gemm_calls();
// Turns the sparse path on (the default) or off (every product dense), process-wide; the
// environment's HGC_SPARSE=off sets the initial state. For benchmarks that compare dense work.
void set_sparse_activations(bool on);
bool sparse_activations();

// Whether frontend Parameters announce their values as stable buffers
// (hgc/runtime/stable_buffers.h), so that fully connected layers keep them packed. Off by
// default: a training step writes the weights before every forward, whose first call at new
// values runs the primitive on unpacked weights (bits equal to the packed ones), slower than
// sgemm there (W2's step 0.37 -> 0.46 ms on 2 threads); forwards on fixed weights gain (W1b
// 92 -> 76 ms per 1000 on 2 threads, AMD EPYC). HGC_PACKED_WEIGHTS=on sets the initial state
// on; =off turns packed weights off everywhere, AOT programs' constants (announced at load,
// on by default) included.
void set_packed_parameters(bool on);
bool packed_parameters();

// The versions the runtime's library calls run on, for benchmark records: oneDNN's
// "major.minor.patch (git hash, cpu runtime)" and OpenBLAS's build string and core.
std::string onednn_version();
std::string openblas_version();
// Threads the runtime's sgemm uses for an (M, N, K) product: row or column blocks of C on
// the thread pool, each thread getting at least 2^20 multiply-adds (runtime/src/gemm.cc).
int gemm_threads(int64_t M, int64_t N, int64_t K);
// The blocks of C a bfloat16 (M, N, K) product runs as on the thread pool (runtime/src/
// library_bf16.cc; 1: one primitive call, on oneDNN's OpenMP team when worth several threads).
int bf16_gemm_threads(int64_t M, int64_t N, int64_t K, bool trans_a);
// `batch` independent matmuls over contiguous [batch, ...] operands.
void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K,
                  bool trans_a, bool trans_b);

struct ConvShape {
  int nsp = 2;                 // spatial dims: 1 or 2
  int64_t N, C, O, groups;     // batch, in channels, out channels, groups
  int64_t in[2], out[2], k[2], stride[2], pad[2], dilate[2];
};
// A ConvShape from a convolution call's parameters {nsp, N, C, O, groups, has_bias, in.., out..,
// k.., stride.., pad.., dilate..} (the first 18 LibraryCall::params).
ConvShape conv_shape_from_params(const std::vector<int64_t>& p);
// The blocks of images a convolution or either gradient of shape s runs as on the thread pool
// (each a one-thread call; runtime/src/library_conv.cc); 1: one call over the whole batch.
int conv_threads(const ConvShape& s);
// NC(H)W convolution, y = conv(x, w) (+ b): by im2col + one sgemm per group and chunk of
// images (the columns of a chunk side by side), or by oneDNN's convolution primitive where it
// was measured faster (ConvImpl below); `workspace` holds convolution_workspace(s) floats.
void convolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* workspace);
// Its gradients, the same way: dx (N, C, in...) from dy (N, O, out...) and w; dw (O, C/groups,
// k...) from dy and x. Same workspace size.
void conv_data_grad(const ConvShape& s, const float* dy, const float* w, float* dx, float* workspace);
void conv_weight_grad(const ConvShape& s, const float* dy, const float* x, float* dw, float* workspace);
int64_t convolution_workspace(const ConvShape& s);

// Which implementation convolution() and its gradients run. Auto (the default, or
// $HGC_CONV=auto): on the first call of a shape in each direction, im2col + sgemm and oneDNN's
// convolution primitives (runtime/src/conv_onednn.cc; in its preferred blocked layout and in
// channels-last, with reorders from and to the plain layouts) each run 2 to 6 times on that
// call's own operands; the fastest then serves that call and every later one (oneDNN only
// when at least 10% faster than im2col, so that close calls stay on one path; calls racing
// the first wait for its decision). The others force one path ($HGC_CONV=im2col / onednn /
// onednn_nhwc); the oneDNN ones still take im2col where oneDNN rejects the shape.
// `workspace` is used by im2col only.
enum class ConvImpl { Auto, Im2col, OneDNN, OneDNNChannelsLast };
enum class ConvDirection { Forward, DataGrad, WeightGrad };
void set_conv_impl(ConvImpl impl);  // process-wide; for tests and benchmarks
ConvImpl conv_impl();
// Whether oneDNN has a convolution primitive for (dir, s) (with a bias: forward only).
bool onednn_conv_supported(ConvDirection dir, const ConvShape& s, bool has_bias = false);

// NC(H)W transposed convolution (MXNet's Deconvolution): per image and group, sgemm
// W[g]^T . x[n,g] into columns, then col2im onto the output (plus b). `s.in` is the input's
// spatial size, `s.out` the output's, `s.pad` the effective padding; w is (C, O/groups, k...);
// `workspace` holds (O/groups)*prod(k) x prod(in) floats.
void deconvolution(const ConvShape& s, const float* x, const float* w, const float* b, float* y, float* workspace);
int64_t deconvolution_workspace(const ConvShape& s);

// MXNet's im2col: x (N, C, in...) -> col (N, C * prod(k), prod(out)), rows ordered channel,
// then kernel taps; zeros where a tap falls into the padding. O and groups are unused.
void im2col(const ConvShape& s, const float* x, float* col);
// Its adjoint (MXNet's col2im): x = 0, then each column entry adds into the element it reads.
void col2im(const ConvShape& s, const float* col, float* x);

}  // namespace hgc::lib
