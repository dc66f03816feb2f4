// expand-rnn: the fused RNN op (MXNet 1.x src/operator/rnn-inl.h, rnn_impl.h) rewritten into
// primitive ops, so a model with an RNN compiles without an RNN kernel.
//
// Algorithm. One walk over the old node list builds a new one; an expansion is emitted where
// its RNN stood, so the list stays topologically ordered.
//  1. A node that is not an RNN is copied; its inputs and control dependencies are remapped
//     through `where[old node][output]` (the new value standing for each old output).
//  2. An RNN node with data (T, N, I), L layers, D directions, G gates (lstm 4: i f g o;
//     gru 3: r z n; rnn_* 1) and H hidden units becomes
//       x    = Reshape(data, (T*N, I));  h0/c0 = the (L*D, N, H) states split into L*D
//              (N, H) blocks by one SliceChannel over (L*D*N, H);
//       for each layer l, direction d (MXNet's layout: every weight first, layer by layer
//       and direction by direction, Wx (G*H, I_l) then Wh (G*H, H); then every bias, bx (G*H)
//       then bh (G*H), in the same order; I_l = D*H above layer 0):
//         Wx, Wh, bx, bh = slice_axis(parameters) (+ Reshape for the matrices);
//         xp   = FC(x, Wx, bx)                      all T input projections in one GEMM;
//         xs   = SliceChannel(xp, T, axis 0)        step t's (N, G*H) rows;
//         for each step (t = T-1 .. 0 for the reverse direction):
//           hh = FC(h, Wh, bh)
//           lstm: i, f, g, o = split(xs[t] + hh); c = sig(f)*c + sig(i)*tanh(g)
//                 [clip(c) with lstm_state_clip_min/max]; h = sig(o)*tanh(c)
//           gru:  (xr, xz, xn), (hr, hz, hn) = split(xs[t]), split(hh);
//                 r = sig(xr+hr); z = sig(xz+hz); n = tanh(xn + r*hn); h = n + z*(h-n)
//                 (= (1-z)*n + z*h, MXNet/cuDNN's GRU)
//           rnn_tanh / rnn_relu: h = act(xs[t] + hh)
//         the direction's output = Concat(h at t = 0..T-1, axis 0)  (T*N, H);
//       the layer's output = Concat(directions, axis 1) (T*N, D*H), the next layer's x;
//       out = Reshape(last layer, (T, N, D*H)), named like the RNN so dumps keep its name;
//       hy/cy = Reshape(Concat(final states in l*D+d order, axis 0), (L*D, N, H)).
//     Dropout between layers is the identity in predict mode, so `p` is ignored there.
//  3. Heads are remapped; the RNN's parameter/state sources are pinned (see below); the new
//     graph is re-inferred from the old variables' shapes and dtypes.
//
// Why SliceChannel rather than a slice_axis per step: the compiler shares kernels whose text
// is identical; a slice per step has a different offset, hence a separate JIT kernel per step,
// while one SliceChannel is one kernel, and identical across layers.
//
// Why pin sources: before the rewrite the RNN's shape rule gave the flat parameter vector
// and a deferred `_zeros(shape=(L, 0, H))` begin state their shapes (backward inference).
// Their new consumers (slice_axis, Reshape) cannot, so variables get a `__shape__` hint and
// deferred init ops their inferred `shape`; that keeps `infer` from the data inputs alone (what
// `hgc run` and a JSON round trip do) working on the expanded graph.
#include "hgc/passes/expand_rnn.h"

#include <optional>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"

namespace hgc {
namespace {

using Dims = std::vector<int64_t>;

// Appends ops to the new graph; every helper returns the (first) output.
class Emitter {
 public:
  explicit Emitter(Graph& g) : g_(g) {}

  ValueRef op(const std::string& op, const std::string& name, std::vector<ValueRef> in,
              AttrMap attrs = {}) {
    return {g_.add_node(op, name, std::move(in), std::move(attrs)), 0};
  }
  ValueRef reshape(ValueRef v, Dims shape, const std::string& name) {
    return op("Reshape", name, {v}, {{"shape", std::move(shape)}});
  }
  // Rows [begin, end) of axis 0.
  ValueRef rows(ValueRef v, int64_t begin, int64_t end, const std::string& name) {
    return op("slice_axis", name, {v}, {{"axis", int64_t{0}}, {"begin", begin}, {"end", end}});
  }
  // x (.., K) . w(M, K)^T + b on the last axis.
  ValueRef fc(ValueRef x, ValueRef w, ValueRef b, int64_t hidden, const std::string& name) {
    return op("FullyConnected", name, {x, w, b},
              {{"num_hidden", hidden}, {"no_bias", false}, {"flatten", false}});
  }
  ValueRef act(ValueRef v, const char* type, const std::string& name) {
    return op("Activation", name, {v}, {{"act_type", std::string(type)}});
  }
  ValueRef add(ValueRef a, ValueRef b, const std::string& name) { return op("elemwise_add", name, {a, b}); }
  ValueRef sub(ValueRef a, ValueRef b, const std::string& name) { return op("elemwise_sub", name, {a, b}); }
  ValueRef mul(ValueRef a, ValueRef b, const std::string& name) { return op("elemwise_mul", name, {a, b}); }
  // n equal parts along `axis` (one part: the value itself).
  std::vector<ValueRef> split(ValueRef v, int64_t n, int64_t axis, const std::string& name) {
    if (n == 1) return {v};
    int id = g_.add_node("SliceChannel", name, {v},
                         {{"num_outputs", n}, {"axis", axis}, {"squeeze_axis", false}});
    std::vector<ValueRef> parts;
    for (int k = 0; k < n; ++k) parts.push_back({id, k});
    return parts;
  }
  ValueRef concat(const std::vector<ValueRef>& vs, int64_t dim, const std::string& name) {
    if (vs.size() == 1) return vs[0];
    return op("Concat", name, vs, {{"num_args", static_cast<int64_t>(vs.size())}, {"dim", dim}});
  }

 private:
  Graph& g_;
};

// What one RNN node computes, read from its attributes and inferred input shapes.
struct RnnSpec {
  std::string mode;
  int64_t T = 0, N = 0, I = 0, H = 0, L = 0, D = 1, G = 1;
  bool lstm = false, state_outputs = false;
  std::optional<double> clip_min, clip_max;
};

RnnSpec read_spec(const Graph& g, const Node& n, const ExpandRnnOptions& opts) {
  AttrView a = n.attr_view();
  RnnSpec s;
  s.mode = a.s("mode");
  s.lstm = s.mode == "lstm";
  s.G = s.lstm ? 4 : s.mode == "gru" ? 3 : 1;
  s.H = a.i("state_size");
  s.L = a.i("num_layers");
  s.D = a.b("bidirectional") ? 2 : 1;
  s.state_outputs = a.b("state_outputs");
  const std::string who = n.describe();
  if (a.opt_i("projection_size"))
    fail("passes", who, ": expand-rnn cannot expand projection_size (LSTMP) yet");
  if (a.b("use_sequence_length"))
    fail("passes", who, ": expand-rnn cannot expand use_sequence_length=True (variable-length "
         "sequences) yet");
  if (opts.training && a.f("p") > 0)
    fail("passes", who, ": dropout p=", a.f("p"), " between layers in training mode cannot be "
         "expanded (it is the identity only in predict mode)");
  if (s.lstm) {
    s.clip_min = a.opt_f("lstm_state_clip_min");
    s.clip_max = a.opt_f("lstm_state_clip_max");
    if (s.clip_min.has_value() != s.clip_max.has_value())
      fail("passes", who, ": lstm_state_clip_min and lstm_state_clip_max must be given together");
  }
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    const Node& src = g.nodes[n.inputs[k].node];
    if (static_cast<int>(src.out_shapes.size()) <= n.inputs[k].index)
      fail("passes", who, ": input ", k, " has no inferred shape; infer shapes before expand-rnn");
    if (!g.shape(n.inputs[k]).known())
      fail("passes", who, ": input ", k, " has shape ", g.shape(n.inputs[k]).str(),
           "; infer shapes before expand-rnn");
  }
  const Shape& d = g.shape(n.inputs[0]);
  s.T = d[0], s.N = d[1], s.I = d[2];
  return s;
}

// Emits the expansion of RNN node `n` (inputs already remapped to `in`); returns its outputs.
std::vector<ValueRef> expand_one(const RnnSpec& s, const std::string& name,
                                 const std::vector<ValueRef>& in, Emitter& e) {
  const int64_t T = s.T, N = s.N, H = s.H, GH = s.G * s.H, LD = s.L * s.D;
  const ValueRef params = in[1];

  // Begin states as (N, H) blocks, indexed l*D + d.
  auto blocks = [&](ValueRef state, const std::string& what) {
    ValueRef flat = LD == 1 ? e.reshape(state, {N, H}, name + "_" + what)
                            : e.reshape(state, {LD * N, H}, name + "_" + what + "_2d");
    return e.split(flat, LD, 0, name + "_" + what);
  };
  std::vector<ValueRef> h0 = blocks(in[2], "h0");
  std::vector<ValueRef> c0 = s.lstm ? blocks(in[3], "c0") : std::vector<ValueRef>{};

  int64_t weights = 0;
  for (int64_t l = 0; l < s.L; ++l) weights += s.D * GH * ((l ? s.D * H : s.I) + H);
  int64_t w_off = 0, b_off = weights;

  ValueRef x = e.reshape(in[0], {T * N, s.I}, name + "_data2d");
  std::vector<ValueRef> hy, cy;
  for (int64_t l = 0; l < s.L; ++l) {
    const int64_t in_l = l ? s.D * H : s.I;
    std::vector<ValueRef> dir_out;
    for (int64_t d = 0; d < s.D; ++d) {
      const std::string tag = name + "_l" + std::to_string(l) + (d ? "_bwd" : "_fwd");
      ValueRef wx = e.reshape(e.rows(params, w_off, w_off + GH * in_l, tag + "_wx_flat"), {GH, in_l}, tag + "_wx");
      w_off += GH * in_l;
      ValueRef wh = e.reshape(e.rows(params, w_off, w_off + GH * H, tag + "_wh_flat"), {GH, H}, tag + "_wh");
      w_off += GH * H;
      ValueRef bx = e.rows(params, b_off, b_off + GH, tag + "_bx");
      ValueRef bh = e.rows(params, b_off + GH, b_off + 2 * GH, tag + "_bh");
      b_off += 2 * GH;

      ValueRef xp = e.fc(x, wx, bx, GH, tag + "_xproj");  // (T*N, G*H)
      std::vector<ValueRef> xs = e.split(xp, T, 0, tag + "_xsteps");
      const int64_t sd = l * s.D + d;
      ValueRef h = h0[sd], c = s.lstm ? c0[sd] : ValueRef{};
      std::vector<ValueRef> hs(T);
      for (int64_t step = 0; step < T; ++step) {
        const int64_t t = d ? T - 1 - step : step;
        const std::string st = tag + "_t" + std::to_string(t);
        ValueRef hh = e.fc(h, wh, bh, GH, st + "_h2h");
        if (s.lstm) {
          ValueRef gates = e.add(xs[t], hh, st + "_gates");
          std::vector<ValueRef> q = e.split(gates, 4, 1, st + "_split");
          ValueRef i = e.act(q[0], "sigmoid", st + "_i");
          ValueRef f = e.act(q[1], "sigmoid", st + "_f");
          ValueRef g = e.act(q[2], "tanh", st + "_g");
          ValueRef o = e.act(q[3], "sigmoid", st + "_o");
          ValueRef fc = e.mul(f, c, st + "_fc");
          ValueRef ig = e.mul(i, g, st + "_ig");
          c = e.add(fc, ig, st + "_c");
          if (s.clip_min)
            c = e.op("clip", st + "_c_clip", {c}, {{"a_min", *s.clip_min}, {"a_max", *s.clip_max}});
          ValueRef tc = e.act(c, "tanh", st + "_tanh_c");
          h = e.mul(o, tc, st + "_h");
        } else if (s.mode == "gru") {
          std::vector<ValueRef> xq = e.split(xs[t], 3, 1, st + "_xsplit");
          std::vector<ValueRef> hq = e.split(hh, 3, 1, st + "_hsplit");
          ValueRef r = e.act(e.add(xq[0], hq[0], st + "_r_pre"), "sigmoid", st + "_r");
          ValueRef z = e.act(e.add(xq[1], hq[1], st + "_z_pre"), "sigmoid", st + "_z");
          ValueRef rh = e.mul(r, hq[2], st + "_rh");
          ValueRef nn = e.act(e.add(xq[2], rh, st + "_n_pre"), "tanh", st + "_n");
          ValueRef diff = e.sub(h, nn, st + "_h_minus_n");
          ValueRef zd = e.mul(z, diff, st + "_zd");
          h = e.add(nn, zd, st + "_h");
        } else {
          ValueRef pre = e.add(xs[t], hh, st + "_pre");
          h = e.act(pre, s.mode == "rnn_tanh" ? "tanh" : "relu", st + "_h");
        }
        hs[t] = h;
      }
      dir_out.push_back(e.concat(hs, 0, tag + "_out"));  // (T*N, H), time order
      hy.push_back(h);
      if (s.lstm) cy.push_back(c);
    }
    x = e.concat(dir_out, 1, name + "_l" + std::to_string(l) + "_out");  // (T*N, D*H)
  }

  std::vector<ValueRef> outs{e.reshape(x, {T, N, s.D * H}, name)};
  if (s.state_outputs) {
    auto stack = [&](const std::vector<ValueRef>& v, const std::string& what) {
      return e.reshape(e.concat(v, 0, name + "_" + what + "_cat"), {LD, N, H}, name + "_" + what);
    };
    outs.push_back(stack(hy, "state_output"));
    if (s.lstm) outs.push_back(stack(cy, "statecell_output"));
  }
  return outs;
}

// Gives the source of an RNN parameter/state input a shape that no longer needs the RNN's
// backward inference (see the file comment).
void pin_source(Node& src, const Shape& shape) {
  if (src.is_variable()) {
    src.hidden["__shape__"] = format_attr(shape.dims());
    return;
  }
  if (!src.op || !src.op->has(kSource)) return;
  const AttrSpec* spec = src.op->attr_spec("shape");
  if (!spec || spec->type != AttrType::IntTuple) return;
  auto it = src.attrs.find("shape");
  const auto* dims = it == src.attrs.end() ? nullptr : std::get_if<std::vector<int64_t>>(&it->second);
  bool deferred = !dims || dims->empty();
  if (dims)
    for (int64_t v : *dims) deferred = deferred || v == 0;
  if (deferred) src.attrs["shape"] = shape.dims();
}

}  // namespace

int expand_rnn(Graph& g, const ExpandRnnOptions& opts) {
  const OpDef* rnn = OpRegistry::global().find("RNN");
  auto is_rnn = [&](const Node& n) { return n.op != nullptr && n.op == rnn; };
  std::vector<RnnSpec> specs(g.nodes.size());
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (is_rnn(g.nodes[i])) specs[i] = read_spec(g, g.nodes[i], opts), ++count;
  if (count == 0) return 0;

  Graph out;
  out.extra_attrs = g.extra_attrs;
  out.mxnet_version = g.mxnet_version;
  Emitter e(out);
  std::vector<std::vector<ValueRef>> where(g.nodes.size());
  std::vector<int> last(g.nodes.size());  // the new node an old one's control deps point to
  auto remap = [&](const std::vector<ValueRef>& refs) {
    std::vector<ValueRef> r;
    for (const ValueRef& v : refs) r.push_back(where[v.node][v.index]);
    return r;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (is_rnn(n)) {
      where[i] = expand_one(specs[i], n.name, remap(n.inputs), e);
      last[i] = static_cast<int>(out.nodes.size()) - 1;
      continue;
    }
    Node c = n;
    c.inputs = remap(n.inputs);
    for (int& dep : c.control_deps) dep = last[dep];
    out.nodes.push_back(std::move(c));
    const int id = static_cast<int>(out.nodes.size()) - 1;
    for (int k = 0; k < n.num_outputs(); ++k) where[i].push_back({id, k});
    last[i] = id;
  }
  out.heads = remap(g.heads);

  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_rnn(g.nodes[i])) continue;
    const auto& ins = g.nodes[i].inputs;
    for (size_t k = 1; k < ins.size(); ++k)  // parameters, state[, state_cell]
      if (!is_rnn(g.nodes[ins[k].node])) pin_source(out.nodes[last[ins[k].node]], g.shape(ins[k]));
  }

  // Re-infer with every variable as it was, so nothing depends on the caller's options.
  InferOptions io;
  for (const Node& n : g.nodes) {
    if (!n.is_variable()) continue;
    if (!n.out_shapes.empty() && n.out_shapes[0].known()) io.shapes[n.name] = n.out_shapes[0];
    if (!n.out_dtypes.empty() && n.out_dtypes[0] != DType::unknown) io.dtypes[n.name] = n.out_dtypes[0];
  }
  infer(out, io);
  g = std::move(out);
  return count;
}

namespace {
class ExpandRnnPass : public Pass {
 public:
  explicit ExpandRnnPass(ExpandRnnOptions o) : opts_(o) {}
  std::string name() const override { return "expand-rnn"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  // Re-infers itself, so shapes stay inferred; anything planned on the old nodes is stale.
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> invalidates() const override {
    return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned};
  }
  void run(Graph& g) override { expand_rnn(g, opts_); }

 private:
  ExpandRnnOptions opts_;
};
}  // namespace

std::unique_ptr<Pass> make_expand_rnn_pass(ExpandRnnOptions opts) {
  return std::make_unique<ExpandRnnPass>(opts);
}

}  // namespace hgc
