// Reference kernel: the fused RNN op in predict mode (MXNet 1.9 src/operator/rnn-inl.h,
// rnn_impl.h). data (T, N, I); one flat parameter vector holding every weight first, then
// every bias:
//   for each layer l, direction d: Wx (G*H, I_l), Wh (G*H, R) [, Wr (P, H) with projection]
//   for each layer l, direction d: bx (G*H), bh (G*H)
// with G gates (lstm 4: i, f, g, o; gru 3: r, z, n; rnn_* 1), R = P (projection) or H,
// I_0 = I and I_l = D*R above. Layer l reads layer l-1's (T, N, D*R) output; the states
// (L*D, N, R) and cells (L*D, N, H) are indexed l*D + d. GRU follows MXNet/cuDNN:
// n = tanh(Wx_n x + bx_n + r * (Wh_n h + bh_n)), h' = (1 - z) * n + z * h.
// With sequence_length (cuDNN's padded layout) steps t >= len[n] are skipped: their output
// is 0, the state stays, and the reverse direction starts at len[n] - 1.
#include <algorithm>
#include <cmath>

#include "reference/ref_kernels.h"

namespace hgc::ref {
namespace {

// y[r] = b[r] + sum_c W[r, c] * x[c] for a row-major W (rows x cols) at w.
void affine(const double* w, const double* b, const double* x, int64_t rows, int64_t cols, double* y) {
  for (int64_t r = 0; r < rows; ++r) {
    double acc = b[r];
    for (int64_t c = 0; c < cols; ++c) acc += w[r * cols + c] * x[c];
    y[r] = acc;
  }
}

struct RnnSpec {
  std::string mode;
  int64_t layers, dirs, hidden, gates, proj;  // proj = 0 without projection
  int64_t rec() const { return proj ? proj : hidden; }  // size of h, the recurrent input
  bool clip = false;
  double clip_min = 0, clip_max = 0;
};

// One layer and direction over the whole sequence. x is (T, N, in), y is (T, N, D*R) and
// receives this direction's R columns at offset d*R; h (N, R) and c (N, H) carry the state.
void run_direction(const RnnSpec& s, int d, const std::vector<double>& x, int64_t T, int64_t N,
                   int64_t in, const double* wx, const double* wh, const double* wr, const double* bx,
                   const double* bh, const Arr* lengths, std::vector<double>& y, double* h, double* c) {
  const int64_t H = s.hidden, G = s.gates, R = s.rec(), GH = G * H;
  std::vector<double> gx(GH), gh(GH), cell(H), hnew(H);
  for (int64_t step = 0; step < T; ++step) {
    int64_t t = d == 0 ? step : T - 1 - step;
    for (int64_t n = 0; n < N; ++n) {
      if (lengths && t >= static_cast<int64_t>(lengths->v[n])) continue;  // padding
      double* hn = h + n * R;
      affine(wx, bx, &x[(t * N + n) * in], GH, in, gx.data());
      affine(wh, bh, hn, GH, R, gh.data());
      for (int64_t k = 0; k < H; ++k) {
        if (s.mode == "lstm") {
          double i = sigmoid(gx[k] + gh[k]), f = sigmoid(gx[H + k] + gh[H + k]);
          double g = std::tanh(gx[2 * H + k] + gh[2 * H + k]), o = sigmoid(gx[3 * H + k] + gh[3 * H + k]);
          double cn = f * c[n * H + k] + i * g;
          if (s.clip) cn = std::clamp(cn, s.clip_min, s.clip_max);
          c[n * H + k] = cn;
          hnew[k] = o * std::tanh(cn);
        } else if (s.mode == "gru") {
          double r = sigmoid(gx[k] + gh[k]), z = sigmoid(gx[H + k] + gh[H + k]);
          double nn = std::tanh(gx[2 * H + k] + r * gh[2 * H + k]);
          hnew[k] = (1 - z) * nn + z * hn[k];
        } else {
          double a = gx[k] + gh[k];
          hnew[k] = s.mode == "rnn_tanh" ? std::tanh(a) : std::max(0.0, a);
        }
      }
      if (s.proj) {  // LSTMP: the recurrent state is Wr . h, (P, H) x (H)
        std::vector<double> zero(R, 0.0);
        affine(wr, zero.data(), hnew.data(), R, H, hn);
      } else {
        std::copy(hnew.begin(), hnew.end(), hn);
      }
      std::copy(hn, hn + R, &y[(t * N + n) * s.dirs * R + d * R]);
    }
  }
}

void rnn(Ctx& c) {
  RnnSpec s;
  s.mode = c.a.s("mode");
  s.layers = c.a.i("num_layers");
  s.dirs = c.a.b("bidirectional") ? 2 : 1;
  s.hidden = c.a.i("state_size");
  s.gates = s.mode == "lstm" ? 4 : s.mode == "gru" ? 3 : 1;
  s.proj = c.a.opt_i("projection_size").value_or(0);
  if (s.proj && s.mode != "lstm") c.fail("projection_size is only supported for lstm");
  auto cmin = c.a.opt_f("lstm_state_clip_min"), cmax = c.a.opt_f("lstm_state_clip_max");
  if (cmin && cmax) s.clip = true, s.clip_min = *cmin, s.clip_max = *cmax;

  const bool lstm = s.mode == "lstm";
  const Arr &data = c.in[0], &params = c.in[1];
  const Arr* lengths = c.a.b("use_sequence_length") ? &c.in[lstm ? 4 : 3] : nullptr;
  const int64_t T = data.shape[0], N = data.shape[1], H = s.hidden, R = s.rec(), GH = s.gates * H;

  std::vector<double> h = c.in[2].v;                                   // (L*D, N, R)
  std::vector<double> cell = lstm ? c.in[3].v : std::vector<double>();  // (L*D, N, H)

  // Weights first, layer by layer and direction by direction; the biases after them all.
  int64_t weights = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    int64_t in = l == 0 ? data.shape[2] : s.dirs * R;
    weights += s.dirs * (GH * (in + R) + (s.proj ? R * H : 0));
  }
  if (weights + s.layers * s.dirs * 2 * GH != params.numel())
    c.fail("parameters has " + std::to_string(params.numel()) + " values, expected " +
           std::to_string(weights + s.layers * s.dirs * 2 * GH));

  std::vector<double> x = data.v, y;
  int64_t in = data.shape[2], w_off = 0, b_off = weights;
  for (int64_t l = 0; l < s.layers; ++l) {
    y.assign(T * N * s.dirs * R, 0.0);
    for (int d = 0; d < s.dirs; ++d) {
      const double* wx = &params.v[w_off];
      const double* wh = wx + GH * in;
      const double* wr = wh + GH * R;
      w_off += GH * (in + R) + (s.proj ? R * H : 0);
      const double* bx = &params.v[b_off];
      const double* bh = bx + GH;
      b_off += 2 * GH;
      int64_t sd = l * s.dirs + d;
      run_direction(s, d, x, T, N, in, wx, wh, wr, bx, bh, lengths, y, &h[sd * N * R],
                    lstm ? &cell[sd * N * H] : nullptr);
    }
    x = y;
    in = s.dirs * R;
  }
  c.out[0].v = y;
  if (c.out.size() > 1) c.out[1].v = h;
  if (c.out.size() > 2) c.out[2].v = cell;
}

}  // namespace

void add_rnn_kernels(KernelTable& t) { t.add("RNN", rnn); }

}  // namespace hgc::ref
