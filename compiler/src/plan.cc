// Graph -> Executable steps, in three stages (plan.h):
//  1. steps:  each node in order gets its output buffers and one step (variables become input
//             or constant buffers; views alias their input; kernels are written as MLIR text,
//             identical texts shared; library calls get their handle);
//  2. GEMM epilogues: a kernel group headed by a library call runs the call, then the rest of
//             the group as one kernel in place on the call's output, while it is hot in cache;
//  3. arena:  the memory planner (passes/memory_plan.h) lays the intermediates out in one
//             arena with reuse and in-place writes.
#include "plan.h"

#include <algorithm>
#include <set>

#include "hgc/base/error.h"
#include "hgc/base/log.h"
#include "hgc/passes/memory_plan.h"
#include "hgc/runtime/library.h"
#include "kernel_writer.h"
#include "lowering.h"
#include "node_ctx.h"

namespace hgc {
namespace {

using lower::node_ctx;

// The member of a kernel group that is a library call (its GEMM head), or -1.
int library_head(const Node& n) {
  if (!n.op || !n.op->has(kSubgraph) || n.subgraphs.empty()) return -1;
  const Graph& sub = *n.subgraphs[0];
  for (size_t k = 0; k < sub.nodes.size(); ++k) {
    const Node& m = sub.nodes[k];
    if (m.is_variable() || !m.op) continue;
    const lower::Lowering* l = lower::LoweringTable::global().find(*m.op);
    if (l && l->kind == lower::Kind::Library) return static_cast<int>(k);
  }
  return -1;
}

// Large single-output shape-polymorphic kernels are worth splitting across the cores: each
// chunk is the same kernel on fewer rows (the GEMMs are cut by the runtime itself). The pool
// hands a chunk to a spinning worker in ~1-3 us (ThreadPool), and a streaming kernel over
// 2^15 floats per operand takes ~10 us on one core (~20 GB/s): so two threads from 2^16.
constexpr int64_t kSplitMinElements = int64_t(1) << 16;
bool splittable(const lower::Lowering& l, const lower::NodeCtx& c) {
  if (!l.shape_polymorphic || c.out_shapes.size() != 1 || c.out_shapes[0].empty()) return false;
  int64_t n = 1;
  for (int64_t d : c.out_shapes[0]) n *= d;
  return n >= kSplitMinElements && c.out_shapes[0][0] >= 2;
}

// Whether op `m` computes row r of axis 0 from row r of its inputs: NC.. pooling and its
// gradient, and softmax-like rows (softmax, log_softmax, softmin, LayerNorm) over another
// axis than 0. Elementwise and broadcasting ops are the shape-polymorphic ones.
bool per_sample_op(const Node& m, const lower::NodeCtx& mc) {
  const std::string& op = m.op->name;
  if (op == "Pooling" || op == "_backward_Pooling") return mc.attrs.is_none("layout") || mc.attrs.s("layout")[0] == 'N';
  if (op == "L2Normalization") return true;  // every mode normalizes within a sample
  // Reductions over other axes than 0 (a row sum, a log_softmax gradient's sum): row r of the
  // output from row r of the input, with or without keepdims.
  if (m.op->has(kReduce) && mc.attrs.op().attr_spec("exclude") && mc.attrs.op().attr_spec("keepdims")) {
    auto axes = mc.attrs.opt_tuple("axis");
    int64_t rank = static_cast<int64_t>(mc.in_shapes.at(0).size());
    if (!axes || axes->empty() || rank < 2 || mc.attrs.b("exclude")) return false;
    for (int64_t a : *axes)
      if ((a < 0 ? a + rank : a) == 0) return false;
    return true;
  }
  // A copy that broadcasts lhs to the output's shape: row r reads lhs row r (or row 0 where
  // lhs has one row, which is then not cut); rhs only lends its shape.
  if (op == "broadcast_like") return mc.in_shapes.at(0).size() == mc.out_shapes.at(0).size();
  if (op == "softmax" || op == "log_softmax" || op == "softmin" || op == "LayerNorm") {
    int64_t rank = static_cast<int64_t>(mc.in_shapes.at(0).size()), axis = mc.attrs.i("axis");
    return rank >= 2 && (axis < 0 ? axis + rank : axis) != 0;
  }
  return false;
}

// A lone f32 sum over axis 0 (and maybe others: a convolution's bias gradient sums over the
// batch and the pixels) of an input far larger than its output, in a kernel that takes any
// row count (`kc`, the shapes its text is written for): its rows can be cut too, each chunk
// summing into a buffer of its own, added after (Step::row_sum). Returns which arguments are
// cut (the input, not the output), or empty. (Unsplit, W3's conv0 bias gradient took ~150 us
// of a 2-thread step on one thread, reading rows the other core had written.)
std::vector<bool> row_sum_split(const Node& n, const lower::NodeCtx& kc, const lower::NodeCtx& concrete) {
  if (!n.op || n.op->has(kSubgraph) || n.op->name != "sum" || kc.in_shapes.size() != 1 || kc.out_shapes.size() != 1 ||
      kc.out_types[0] != DType::f32)
    return {};
  const lower::Dims& in = kc.in_shapes[0];
  const lower::Dims& cin = concrete.in_shapes[0];
  if (in.size() < 2 || in[0] >= 0 || cin[0] < 2) return {};
  // A symbolic row dim (ids <= -2) that another dim shares would be cut there too.
  if (in[0] <= -2) {
    if (std::count(in.begin(), in.end(), in[0]) != 1) return {};
    if (std::find(kc.out_shapes[0].begin(), kc.out_shapes[0].end(), in[0]) != kc.out_shapes[0].end()) return {};
  }
  const int64_t rank = static_cast<int64_t>(in.size());
  bool axis0 = true;  // no axis: every axis
  if (auto axes = kc.attrs.opt_tuple("axis"); axes && !axes->empty()) {
    bool listed = false;
    for (int64_t a : *axes) listed = listed || (a < 0 ? a + rank : a) == 0;
    axis0 = listed != kc.attrs.b("exclude");
  }
  if (!axis0) return {};
  int64_t in_n = 1, out_n = 1;
  for (int64_t d : cin) in_n *= d;
  for (int64_t d : concrete.out_shapes[0]) out_n *= d;
  // Worth a thread, and the chunks' partial outputs (Step::kRowSumChunks of them, added
  // serially) small beside the input.
  if (in_n < kSplitMinElements || in_n < 64 * out_n) return {};
  return {true, false};
}

// Whether every member of an epilogue graph is a shape-polymorphic kernel (elementwise or
// broadcasting): row r of its output then depends on row r of its row-carrying operands only.
bool rowwise_members(const Graph& eg) {
  for (const Node& m : eg.nodes) {
    if (m.is_variable()) continue;
    if (!m.op) return false;
    const lower::Lowering* ml = lower::LoweringTable::global().find(*m.op);
    if (!ml || ml->kind != lower::Kind::Kernel || !ml->shape_polymorphic) return false;
  }
  return true;
}

// A fused group written over symbolic dims whose every member computes row r of axis 0 from
// row r of its inputs (per_sample_op or shape-polymorphic, which the single-op split above
// already trusts) can run in row chunks too: each chunk is the same kernel on fewer rows of
// the symbolic leading dim. Returns which arguments (inputs, then the output) are cut: those
// whose symbolic shape starts with the output's symbolic leading dim (a lone per-sample op:
// the same); empty if the step cannot be split (an input carrying that dim elsewhere, a
// reduction, a Concat, a group with several outputs, too little work). A lone per-sample
// op's outputs must all lead with that dim (L2Normalization's norm).
std::vector<bool> rowwise_group_split(const Node& n, const lower::NodeCtx& sym, const lower::NodeCtx& concrete) {
  if (!n.op || sym.out_shapes.empty()) return {};
  bool group = n.op->has(kSubgraph);
  if (group ? n.subgraphs.empty() || sym.out_shapes.size() != 1 : !per_sample_op(n, sym)) return {};
  const lower::Dims& out = sym.out_shapes[0];
  if (out.empty() || out[0] >= 0 || concrete.out_shapes[0][0] < 2) return {};
  // A lone op's further outputs (L2Normalization's norm) are cut by the same rows.
  for (const lower::Dims& o : sym.out_shapes)
    if (o.empty() || o[0] != out[0]) return {};
  // The work: the largest operand (a 2x2 pooling reads four times what it writes).
  auto count = [](const lower::Dims& d) {
    int64_t e = 1;
    for (int64_t x : d) e *= x;
    return e;
  };
  int64_t numel = count(concrete.out_shapes[0]);
  for (const lower::Dims& in : concrete.in_shapes) numel = std::max(numel, count(in));
  if (numel < kSplitMinElements) return {};
  static const std::vector<Node> kNone;
  for (const Node& m : group ? n.subgraphs[0]->nodes : kNone) {  // no copy of the members
    if (m.is_variable()) continue;
    if (!m.op) return {};
    const lower::Lowering* ml = lower::LoweringTable::global().find(*m.op);
    if (!ml || ml->kind != lower::Kind::Kernel) return {};
    if (!ml->shape_polymorphic && !per_sample_op(m, lower::node_ctx(*n.subgraphs[0], m))) return {};
  }
  std::vector<bool> cut;
  auto elsewhere = [&](const lower::Dims& d) { return d.size() > 1 && std::find(d.begin() + 1, d.end(), out[0]) != d.end(); };
  if (elsewhere(out)) return {};
  // A lone row reduction without keepdims drops the reduced axes: its input still leads
  // with the rows. (In a group, operands of another rank may broadcast from the right.)
  const bool lone_reduce = !group && n.op->has(kReduce);
  for (const lower::Dims& in : sym.in_shapes) {
    bool leads = !in.empty() && in[0] == out[0] && (in.size() == out.size() || lone_reduce);
    if (elsewhere(in) || (!leads && !in.empty() && in[0] == out[0])) return {};  // not row by row
    cut.push_back(leads);
  }
  for (const lower::Dims& o : sym.out_shapes) {
    if (elsewhere(o)) return {};
    cut.push_back(true);
  }
  return cut;
}

// The epilogue of a GEMM-headed group: the group's subgraph with its head turned into an input
// variable (variables first, members after, each in their order).
Graph epilogue_graph(const Graph& sub, int head) {
  auto tg = std::make_shared<Graph>(sub);
  Node& hv = tg->nodes[head];
  hv.op_name = "null";
  hv.op = nullptr;
  hv.attrs.clear();
  hv.inputs.clear();
  std::vector<Node> ordered;
  for (const Node& x : tg->nodes)
    if (x.is_variable()) ordered.push_back(x);
  for (const Node& x : tg->nodes)
    if (!x.is_variable()) ordered.push_back(x);
  Graph sorted;  // re-indexed after moving the head's variable up among the variables
  std::map<std::string, int> at;
  for (size_t k = 0; k < ordered.size(); ++k) at[ordered[k].name] = static_cast<int>(k);
  for (Node x : ordered) {
    for (ValueRef& v : x.inputs) v.node = at.at(sub.nodes[v.node].name);
    sorted.nodes.push_back(std::move(x));
  }
  for (ValueRef hd : sub.heads) sorted.heads.push_back({at.at(sub.nodes[hd.node].name), hd.index});
  return sorted;
}

// Whether `n`'s kernel may be written over its symbolic shapes `c` (dims <= -2): its lowering
// reads no dim value (shape-polymorphic ones, and those listed as reading only axes and
// attributes), or it reads only dims that stay concrete (reductions, normalization and pooling
// whose symbolic dims pass through to every output unchanged, gathers from a concrete table).
bool symbolic_ok(const Node& n, const lower::NodeCtx& c) {
  static const std::set<std::string> dim_free = {"transpose", "SwapAxis", "softmax", "log_softmax", "softmin",
                                                 "SoftmaxOutput", "SoftmaxActivation", "where", "BatchNorm", "L2Normalization",
                                                 "sum", "max", "min", "prod", "slice_like", "broadcast_like", "one_hot",
                                                 // random draws read symbolic dims off their output
                                                 "_random_uniform_like", "_random_normal_like",
                                                 "_sample_uniform", "_sample_normal"};
  static const std::set<std::string> passing = {"mean", "LayerNorm", "Pooling", "_backward_Pooling"};
  if (!n.op) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
  if (!l || l->kind != lower::Kind::Kernel) return false;
  auto sym = [](const lower::Dims& d) { return std::any_of(d.begin(), d.end(), [](int64_t x) { return x < 0; }); };
  if (n.op->has(kSubgraph)) {
    if (n.subgraphs.empty()) return false;
    const Graph& sub = *n.subgraphs[0];
    for (const Node& m : sub.nodes) {
      if (m.is_variable() || !m.op) continue;
      const lower::Lowering* ml = lower::LoweringTable::global().find(*m.op);
      if (ml && ml->kind == lower::Kind::Library) continue;  // a GEMM head runs with concrete shapes
      if (!symbolic_ok(m, lower::node_ctx(sub, m))) return false;
    }
    return true;
  }
  if (l->shape_polymorphic || dim_free.count(n.op->name)) return true;
  auto axis_static = [&](int64_t axis) {  // the op's axis is concrete in every input
    for (const lower::Dims& in : c.in_shapes) {
      int64_t a = axis < 0 ? axis + static_cast<int64_t>(in.size()) : axis;
      if (a < 0 || a >= static_cast<int64_t>(in.size()) || in[a] < 0) return false;
    }
    return true;
  };
  if (n.op->name == "Concat") return axis_static(c.attrs.i("dim"));
  if (n.op->name == "slice_axis") return axis_static(c.attrs.i("axis"));
  if (n.op->name == "Embedding") return !sym(c.in_shapes.at(1));
  if (n.op->name == "take") return !sym(c.in_shapes.at(0));
  if (!passing.count(n.op->name)) return false;
  for (const lower::Dims& in : c.in_shapes)
    for (size_t j = 0; j < in.size(); ++j) {
      if (in[j] >= 0) continue;
      for (const lower::Dims& out : c.out_shapes)
        if (out.size() != in.size() || out[j] != in[j]) return false;
    }
  return true;
}

// Whether op `m`'s kernel reads no dim value at all, only ranks, axes and which dims are 1:
// shape-polymorphic ones and the plain reductions (a bias gradient's sum over the rows).
bool dims_free_op(const Node& m) {
  static const std::set<std::string> reductions = {"sum", "max", "min", "prod"};
  if (!m.op) return false;
  const lower::Lowering* l = lower::LoweringTable::global().find(*m.op);
  return l && l->kind == lower::Kind::Kernel && (l->shape_polymorphic || reductions.count(m.op->name));
}

// Whether a kernel (a lone op, or a group's every member) may be written with all its dims
// symbolic: its text then names no layer width, and models of other widths share it (the
// Dense/ReLU gradient module, compiler/prebuilt/graphs.txt). A lone shape-polymorphic op is
// generalized anyway (write_kernel).
bool dims_free(const Node& n) {
  if (!n.op) return false;
  if (!n.op->has(kSubgraph)) return dims_free_op(n);
  if (n.subgraphs.empty()) return false;
  for (const Node& m : n.subgraphs[0]->nodes)
    if (!m.is_variable() && !dims_free_op(m)) return false;
  return true;
}

// Static dims other than 0 and 1 as symbols, one per value, below any symbol of the graph's own
// (dynamic.cc numbers those -2, -3, ...): equal sizes stay equal, which is all a dims-free
// kernel's text may say about them.
constexpr int64_t kStaticSymbols = -(int64_t(1) << 40);
lower::Dims static_as_symbols(lower::Dims d) {
  for (int64_t& x : d)
    if (x > 1) x = kStaticSymbols - x;
  return d;
}

// `g` (a group's members) with every static dim renamed by static_as_symbols.
std::shared_ptr<Graph> static_dims_as_symbols(const Graph& g) {
  auto r = std::make_shared<Graph>(g);
  for (Node& m : r->nodes)
    for (Shape& s : m.out_shapes)
      for (int j = 0; j < s.ndim(); ++j)
        if (s[j] > 1) s[j] = kStaticSymbols - s[j];
  return r;
}

// An epilogue graph without the variables no member reads (the GEMM head's own operands): its
// kernel takes only what it reads, so its text does not depend on the product's other shapes.
Graph drop_unread_variables(const Graph& g) {
  std::vector<bool> keep(g.nodes.size(), false);
  for (const Node& m : g.nodes) {
    if (!m.is_variable()) keep[&m - g.nodes.data()] = true;
    for (const ValueRef& v : m.inputs) keep[v.node] = true;
  }
  for (ValueRef hd : g.heads) keep[hd.node] = true;
  std::vector<int> at(g.nodes.size(), -1);
  Graph r;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (keep[k]) {
      at[k] = static_cast<int>(r.nodes.size());
      r.nodes.push_back(g.nodes[k]);
    }
  for (Node& m : r.nodes)
    for (ValueRef& v : m.inputs) v.node = at[v.node];
  for (ValueRef hd : g.heads) r.heads.push_back({at[hd.node], hd.index});
  return r;
}

class Planner {
 public:
  Planner(const Graph& g, const StepPlanOptions& o) : g_(g), o_(o), e_(*p_.exe), buf_(g.nodes.size()) {}

  Plan run() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) add_node(i);
    group_independent_steps();
    mark_outputs();
    lay_out_arena();
    return std::move(p_);
  }

 private:
  int add_buffer(const Node& n, int k, BufferKind kind) {
    BufferInfo b;
    b.name = k ? n.name + ":" + std::to_string(k) : n.name;
    b.shape = n.out_shapes[k].dims();
    b.dtype = n.out_dtypes[k];
    b.kind = kind;
    e_.buffers.push_back(b);
    return static_cast<int>(e_.buffers.size()) - 1;
  }

  // Stage 1: one node's buffers and step.
  void add_node(size_t i) {
    step_node_ = i;
    const Node& n = g_.nodes[i];
    for (const Shape& s : n.out_shapes)
      if (!s.known()) fail("compiler", n.describe(), ": shape ", s.str(), " is not fully known; infer shapes first");
    if (n.is_variable()) return add_variable(i, n);
    if (!n.op) fail("compiler", n.describe(), ": unknown op '", n.op_name, "' cannot be compiled");
    const lower::Lowering* l = lower::LoweringTable::global().find(*n.op);
    if (!l) fail("compiler", n.describe(), ": op ", n.op->name, " has no lowering yet",
                 lower::LoweringTable::global().why_missing(*n.op));
    lower::NodeCtx c = node_ctx(g_, n);
    Step step;
    step.label = n.name;
    for (const ValueRef& v : n.inputs) step.args.push_back(buf_[v.node][v.index]);
    int nout = static_cast<int>(n.out_shapes.size());
    if (l->kind == lower::Kind::View) {
      int id = add_buffer(n, 0, BufferKind::View);
      e_.buffers[id].view_of = step.args[0];
      buf_[i].push_back(id);
      for (int k = 1; k < nout; ++k) buf_[i].push_back(add_buffer(n, k, BufferKind::Arena));
      return;
    }
    for (int k = 0; k < nout; ++k) {
      buf_[i].push_back(add_buffer(n, k, BufferKind::Arena));
      step.args.push_back(buf_[i].back());
    }
    // In place only where output element i reads input element i alone: a generated kernel
    // (never a library call), an op that allows it, the same dtype and exactly the same
    // shape (a broadcast first input would be overwritten before it is read again).
    // With symbolic dims, by the symbolic shapes: the kernel text (which says whether outputs
    // may alias) stays the same at every size (equal symbols are equal sizes).
    const lower::NodeCtx& ic = o_.symbolic ? node_ctx(*o_.symbolic, o_.symbolic->nodes[i]) : c;
    bool inplace = n.op->has(kInplace) && l->kind == lower::Kind::Kernel && !n.inputs.empty() &&
                   nout > 0 && ic.in_types[0] == ic.out_types[0] && ic.in_shapes[0] == ic.out_shapes[0];
    if (int h = library_head(n); h >= 0) add_gemm_epilogue(n, h, c, step);
    else if (l->kind == lower::Kind::Library) {
      if (!o_.module_only) {
        step.call = l->library(c);
        step.library = make_library(step.call);
      }
    } else add_kernel(n, *l, c, inplace, step);
    step_io_.push_back({n.inputs.size(), inplace});
    e_.steps.push_back(std::move(step));
  }

  void add_variable(size_t i, const Node& n) {
    if (o_.frozen && o_.frozen->count(n.name)) {  // baked in
      const HostTensor& t = o_.frozen->at(n.name);
      if (t.shape() != n.out_shapes[0].dims() || t.dtype() != n.out_dtypes[0])
        fail("compiler", "frozen tensor '", n.name, "' is ", t.describe(), ", the graph has ", n.out_shapes[0].str(), " ",
             dtype_name(n.out_dtypes[0]));
      int id = add_buffer(n, 0, BufferKind::Constant);
      e_.buffers[id].index = static_cast<int>(e_.constants.size());
      e_.constants.push_back(t);
      buf_[i] = {id};
      return;
    }
    int id = add_buffer(n, 0, BufferKind::Input);
    e_.buffers[id].index = static_cast<int>(e_.input_names.size());
    e_.input_names.push_back(n.name);
    e_.input_buffers.push_back(id);
    buf_[i] = {id};
  }

  // Kernel text under a placeholder name, so identical kernels (the same op, attributes and
  // shapes, e.g. in every layer of a transformer) are compiled once and shared.
  void add_text(std::string text, Step& step) {
    auto [it, fresh] = p_.unique.emplace(text, "k" + std::to_string(p_.unique.size()));
    if (fresh) p_.module += text.replace(text.find("__KERNEL__"), 10, it->second) + "\n";
    p_.kernel_steps.push_back({e_.steps.size(), it->second});
    step.kernel_name = it->second;
  }

  // The node's view in the symbolic graph when its kernel may be written over it, else null.
  const Node* symbolic_node(const Node& n) {
    if (!o_.symbolic) return nullptr;
    size_t i = static_cast<size_t>(&n - g_.nodes.data());
    const Node& sn = o_.symbolic->nodes.at(i);
    if (!symbolic_ok(sn, node_ctx(*o_.symbolic, sn))) {
      p_.specialized.push_back(n.name);
      return nullptr;
    }
    return &sn;
  }

  void add_kernel(const Node& n, const lower::Lowering& l, const lower::NodeCtx& c, bool inplace, Step& step) {
    if (const Node* sn = symbolic_node(n)) {
      try {
        lower::KernelWriter w("__KERNEL__");
        write_kernel(*sn, l, node_ctx(*o_.symbolic, *sn), inplace, step, w, /*symbolic=*/true);
        return add_text(w.finish(), step);
      } catch (const Error&) {  // a lowering that needs a dim value after all: concrete shapes
        p_.specialized.push_back(n.name);
        step.split_arg.clear();
      }
    }
    lower::KernelWriter w("__KERNEL__");
    write_kernel(n, l, c, inplace, step, w, /*symbolic=*/false);
    add_text(w.finish(), step);
  }

  void write_kernel(const Node& n, const lower::Lowering& l, const lower::NodeCtx& c, bool inplace, Step& step,
                    lower::KernelWriter& w, bool symbolic) {
    // Over symbolic dims, a kernel that reads no dim value is written with its static dims as
    // symbols too (dims_free): one text for every layer width.
    const bool rename = symbolic && !o_.static_shapes && !l.shape_polymorphic && dims_free(n);
    Node renamed;
    if (rename && n.op->has(kSubgraph)) {
      renamed = n;
      renamed.subgraphs = {static_dims_as_symbols(*n.subgraphs[0])};
    }
    lower::NodeCtx kc{renamed.op ? renamed : n, renamed.op ? renamed.attr_view() : c.attrs, c.in_shapes, c.in_types,
                      c.out_shapes, c.out_types};
    kc.scalar_input = c.scalar_input;
    if (rename) {
      for (auto& d : kc.in_shapes) d = static_as_symbols(d);
      for (auto& d : kc.out_shapes) d = static_as_symbols(d);
    }
    // Shape-polymorphic kernels are generated with dynamic dims: LLVM vectorizes those
    // loops far better than fully static ones (erf over 4M floats: 17 ms static, ~3 ms
    // dynamic on one core), and layers of one shape class share one kernel.
    if (l.shape_polymorphic && !o_.static_shapes) {
      for (auto& d : kc.in_shapes) d = lower::generalize(d);
      for (auto& d : kc.out_shapes) d = lower::generalize(d);
    }
    const lower::NodeCtx& cc = o_.symbolic ? node_ctx(g_, g_.nodes[step_node_]) : c;  // concrete, for the split
    step.split = false;
    step.split_arg.clear();
    if (!o_.static_shapes && splittable(l, cc)) {  // and big ones run in row chunks across the cores
      step.split = true;
      for (size_t k = 0; k < cc.in_shapes.size(); ++k)
        step.split_arg.push_back(cc.in_shapes[k].size() == cc.out_shapes[0].size() && cc.in_shapes[k][0] == cc.out_shapes[0][0]);
      step.split_arg.push_back(true);
    } else if (o_.symbolic && !o_.static_shapes && !inplace) {
      step.split_arg = rowwise_group_split(n, c, cc);
      step.split = !step.split_arg.empty();
    }
    if (!step.split && !o_.static_shapes && !inplace) {
      step.split_arg = row_sum_split(n, kc, cc);
      step.split = !step.split_arg.empty();
    }
    if (!step.split && log_enabled("plan") && !cc.out_shapes.empty()) {  // why a big kernel stays on one thread
      int64_t e = 1;
      for (int64_t d : cc.out_shapes[0]) e *= d;
      if (e >= kSplitMinElements) {
        std::string what = n.name + " (" + n.op->name + (inplace ? ", in place" : "") + ")";
        if (n.op->has(kSubgraph) && !n.subgraphs.empty())
          for (const Node& m : n.subgraphs[0]->nodes)
            if (!m.is_variable() && m.op) what += " " + m.op->name;
        log_line("plan kernel on one thread: " + what);
      }
    }
    std::vector<std::string> ins, outs;
    for (size_t k = 0; k < n.inputs.size(); ++k) ins.push_back(w.input(kc.in_shapes[k], kc.in_types[k]));
    for (size_t k = 0; k < n.out_shapes.size(); ++k) outs.push_back(w.output(kc.out_shapes[k], kc.out_types[k]));
    l.kernel(kc, w, ins, outs);
    // Both keep dtypes: an in-place step reads and writes one dtype (above), and the caller's
    // aliased buffers are its arrays passed as input and output (CompileOptions::aliasing).
    if ((inplace && o_.reuse_memory) || o_.aliasing) w.outputs_may_alias(/*keep_dtype=*/true);
  }

  // Stage 2: a GEMM with its epilogue. The library call writes the group's output, then the
  // epilogue kernel (the other members) runs in place on it.
  void add_gemm_epilogue(const Node& n, int h, const lower::NodeCtx& c, Step& step) {
    const auto& table = lower::LoweringTable::global();
    const Graph& sub = *n.subgraphs[0];
    const Node& hn = sub.nodes[h];
    std::vector<int> vars = sub.variable_ids();
    std::vector<int> head_args;  // the head's inputs, as indices into step.args
    for (const ValueRef& v : hn.inputs)
      head_args.push_back(static_cast<int>(std::find(vars.begin(), vars.end(), v.node) - vars.begin()));
    head_args.push_back(static_cast<int>(step.args.size()) - 1);
    if (!o_.module_only) {
      step.call = table.find(*hn.op)->library(node_ctx(sub, hn));
      step.call.operands = head_args;
      step.library = make_library(step.call);
    }
    if (const Node* sn = symbolic_node(n)) {
      try {
        return add_epilogue_text(*sn, h, node_ctx(*o_.symbolic, *sn), step, /*symbolic=*/true);
      } catch (const Error&) {  // a lowering that needs a dim value after all: concrete shapes
        p_.specialized.push_back(n.name);
      }
    }
    add_epilogue_text(n, h, c, step, /*symbolic=*/false);
  }

  // The epilogue kernel of a GEMM-headed group `n` (concrete or symbolic) whose head is `h`.
  // Over symbolic dims (`symbolic`), an epilogue of dims-free members is written with its
  // static dims as symbols too (dims_free): the same text for every layer width.
  void add_epilogue_text(const Node& n, int h, const lower::NodeCtx& c, Step& step, bool symbolic) {
    const auto& table = lower::LoweringTable::global();
    const Graph& sub = *n.subgraphs[0];
    Node tail = n;
    Graph eg = drop_unread_variables(epilogue_graph(sub, h));
    // A bfloat16 head of a float32 group (fuse.h, gemm_widens) writes float32: its members (a
    // unary chain) read that and keep float32 up to their casts.
    if (c.out_types[0] == DType::f32 && sub.nodes[h].out_dtypes[0] == DType::bf16) {
      for (Node& m : eg.nodes) {
        if (m.is_variable()) {
          if (m.name == sub.nodes[h].name) m.out_dtypes = {DType::f32};
          continue;
        }
        if (!m.op || m.op->name != "Cast") m.out_dtypes = {eg.nodes[m.inputs.at(0).node].out_dtypes[0]};
      }
    }
    const bool rows_free = !o_.static_shapes && rowwise_members(eg);
    const bool rename = symbolic && !o_.static_shapes && std::all_of(eg.nodes.begin(), eg.nodes.end(), [](const Node& m) {
      return m.is_variable() || dims_free_op(m);
    });
    tail.subgraphs = {rename ? static_dims_as_symbols(eg) : std::make_shared<Graph>(std::move(eg))};
    lower::NodeCtx tc{tail, tail.attr_view(), {}, {}, c.out_shapes, c.out_types};
    if (rename) tc.out_shapes[0] = static_as_symbols(tc.out_shapes[0]);
    const Graph& ts = *tail.subgraphs[0];
    for (int id : ts.variable_ids()) {
      tc.in_shapes.push_back(ts.nodes[id].out_shapes[0].dims());
      tc.in_types.push_back(ts.nodes[id].out_dtypes[0]);
    }
    // A concrete epilogue of elementwise/broadcast members is written with a dynamic row count
    // (dim 0 of the operands that carry the output's rows), so the runtime may run it on a row
    // block of the step (Executable's whole-forward row split, Step::epilogue_rows).
    step.epilogue_rows.clear();
    const lower::Dims out = tc.out_shapes[0];
    if (rows_free && tc.out_shapes.size() == 1 && out.size() >= 2 && out[0] >= 2) {
      std::set<int> read;  // the group's inputs the members read
      for (const Node& m : ts.nodes)
        for (const ValueRef& v : m.inputs) read.insert(v.node);
      const std::vector<int> vids = ts.variable_ids();
      for (size_t k = 0; k < tc.in_shapes.size(); ++k) {
        const lower::Dims& d = tc.in_shapes[k];
        const bool cut = d.size() == out.size() && d[0] == out[0];
        if (!cut && d.size() == out.size() && d[0] != 1 && read.count(vids[k])) {  // not row by row after all
          step.epilogue_rows.clear();
          break;
        }
        step.epilogue_rows.push_back(cut);
      }
      if (step.epilogue_rows.size() == tc.in_shapes.size()) {
        step.epilogue_rows.push_back(true);
        for (size_t k = 0; k < tc.in_shapes.size(); ++k)
          if (step.epilogue_rows[k]) tc.in_shapes[k][0] = -1;
        tc.out_shapes[0][0] = -1;
      } else {
        step.epilogue_rows.clear();
      }
    }
    lower::KernelWriter w("__KERNEL__");
    std::vector<std::string> ins, outs;
    for (size_t k = 0; k < tc.in_shapes.size(); ++k) ins.push_back(w.input(tc.in_shapes[k], tc.in_types[k]));
    outs.push_back(w.output(tc.out_shapes[0], tc.out_types[0]));
    table.find(*n.op)->kernel(tc, w, ins, outs);
    w.outputs_may_alias();  // it reads the head's output where it writes
    std::string text = w.finish();
    // Epilogue kernel arguments: the group's inputs by variable name, the head's output.
    const Node& hn = sub.nodes[h];
    std::vector<int> vars = sub.variable_ids();
    step.epilogue_args.clear();
    for (int id : ts.variable_ids()) {
      const std::string& vn = ts.nodes[id].name;
      if (vn == hn.name) step.epilogue_args.push_back(step.args.back());
      else step.epilogue_args.push_back(step.args[std::find_if(vars.begin(), vars.end(), [&](int v) {
                                                       return sub.nodes[v].name == vn;
                                                     }) - vars.begin()]);
    }
    step.epilogue_args.push_back(step.args.back());
    add_text(std::move(text), step);
  }

  // Stage 2b: inter-op parallelism. Independent steps that cannot fill the cores alone (library
  // calls that stay on one thread or run on oneDNN's OpenMP team, kernels not split into row
  // chunks) are paired to run side by side (Step::with_next), each on one thread. Scheduling
  // by a ready list: while the first unplaced step is such a step, the two costliest such
  // steps whose inputs are all computed (among the next kWindow) are hoisted there as a pair.
  // Each pair is one step to the memory plan, so their buffers never share storage.
  static constexpr size_t kWindow = 48;
  // ~10 microseconds of work: below that, handing a step to another thread (a worker that may
  // have gone to sleep: a futex wake-up, 10-70 us on a busy machine) costs as much. (At 2^16,
  // W2's small fc3 and bias-gradient steps paired, and its step looked 0-10% slower.)
  static constexpr int64_t kMinPairCost = int64_t(1) << 18;

  // Multiply-adds of a library call (elements for those that are no products), or -1 for a
  // call that fills the cores alone (a GEMM the runtime cuts into blocks).
  static int64_t library_cost(const LibraryCall& c, int64_t elements) {
    const std::vector<int64_t>& p = c.params;
    if ((c.kind == "fully_connected" || c.kind == "matmul") && p.size() >= 3)
      return lib::gemm_threads(p[0], p[1], p[2]) > 1 ? -1 : p[0] * p[1] * p[2];
    // bfloat16 products the runtime cuts into blocks, likewise: paired, W5's 6e9-multiply-add
    // gradients each ran on one thread (37 ms) beside a small partner, the other core idle
    // most of the pair. The others keep their element count (W2/W3's small products pair).
    const bool ta = c.kind == "matmul_bf16" && p.size() >= 5 && p[3] != 0;
    if ((c.kind == "fully_connected_bf16" || c.kind == "matmul_bf16") && p.size() >= 3 &&
        lib::bf16_gemm_threads(p[0], p[1], p[2], ta) > 1)
      return -1;
    if (c.kind == "batch_matmul" && p.size() >= 4) return p[0] * p[1] * p[2] * p[3];
    if ((c.kind == "convolution" || c.kind == "deconvolution" || c.kind == "conv_data_grad" ||
         c.kind == "conv_weight_grad") && p.size() >= 12) {
      // One that runs as blocks of images on the pool fills the cores alone: paired, LeNet's
      // second layer's data and weight gradients (batch 64) each ran on one thread, ~1.62 ms
      // against ~1.54 ms one after the other on both cores (a core reads what the other wrote
      // at about half its own speed, and each member read the whole output gradient).
      if (c.kind != "deconvolution" && p.size() >= 18 && lib::conv_threads(lib::conv_shape_from_params(p)) > 1)
        return -1;
      int64_t groups = std::max<int64_t>(p[4], 1);
      return p[1] * p[3] * (p[2] / groups) * p[8] * p[9] * p[10] * p[11];
    }
    return elements;
  }

  void group_independent_steps() {
    if (o_.module_only || o_.static_shapes || o_.aliasing || !o_.reuse_memory) return;
    const size_t n = e_.steps.size();
    auto root = [&](int id) {
      while (e_.buffers[id].kind == BufferKind::View) id = e_.buffers[id].view_of;
      return id;
    };
    std::vector<int> writer(e_.buffers.size(), -1);
    std::vector<int64_t> cost(n, 0);
    std::vector<bool> uses_cores(n, false);
    for (size_t s = 0; s < n; ++s) {
      const std::vector<int>& args = e_.steps[s].args;
      int64_t elements = 0;
      for (size_t k = 0; k < args.size(); ++k) {
        int64_t numel = 1;
        for (int64_t d : e_.buffers[args[k]].shape) numel *= d;
        elements += numel;
        if (k >= step_io_[s].first) writer[root(args[k])] = static_cast<int>(s);
      }
      const Step& st = e_.steps[s];
      if (st.split) cost[s] = -1;  // already across the cores
      else if (!st.call.empty()) {
        cost[s] = library_cost(st.call, elements);
        uses_cores[s] = st.call.kind.rfind("conv", 0) == 0;
      }
      else cost[s] = 4 * elements;  // a streaming kernel: ~4 multiply-adds' time per element
    }
    std::vector<std::vector<int>> deps(n);  // the steps whose outputs s reads
    for (size_t s = 0; s < n; ++s)
      for (size_t k = 0; k < step_io_[s].first; ++k)
        if (int w = writer[root(e_.steps[s].args[k])]; w >= 0 && w != static_cast<int>(s)) deps[s].push_back(w);
    std::vector<bool> placed(n, false);
    std::vector<size_t> order;
    std::vector<bool> link;
    auto place = [&](size_t s, bool with_next) {
      placed[s] = true;
      order.push_back(s);
      link.push_back(with_next);
    };
    auto ready = [&](size_t s) {
      for (int d : deps[s])
        if (!placed[d]) return false;
      return true;
    };
    bool any = false;
    for (size_t first = 0; order.size() < n;) {
      while (placed[first]) ++first;
      if (cost[first] < kMinPairCost) {
        place(first, false);
        continue;
      }
      std::vector<size_t> cand{first};  // the ready candidates, costliest first
      for (size_t j = first + 1; j < n && j <= first + kWindow; ++j)
        if (!placed[j] && cost[j] >= kMinPairCost && ready(j)) cand.push_back(j);
      if (cand.size() < 2) {
        place(first, false);
        continue;
      }
      std::stable_sort(cand.begin(), cand.end(), [&](size_t x, size_t y) { return cost[x] > cost[y]; });
      // A convolution uses every core alone (blocks of images, oneDNN's threads): it pairs only
      // with a partner of comparable work, or the partner's thread would idle most of the pair.
      size_t partner = 0;
      for (size_t k = 1; k < cand.size() && !partner; ++k)
        if ((!uses_cores[cand[0]] && !uses_cores[cand[k]]) || 4 * cost[cand[k]] >= cost[cand[0]]) partner = k;
      if (!partner) {
        place(first, false);
        continue;
      }
      // (Filling a pair up with smaller ready steps, up to 4 in a group, made W2's training
      // step ~13% slower on 2 threads in paired runs: pairs only.)
      place(std::min(cand[0], cand[partner]), true);  // in their old order
      place(std::max(cand[0], cand[partner]), false);
      any = true;
    }
    if (!any) return;
    std::vector<Step> steps(n);
    std::vector<std::pair<size_t, bool>> io(n);
    std::vector<size_t> new_index(n);
    for (size_t k = 0; k < n; ++k) {
      steps[k] = std::move(e_.steps[order[k]]);
      steps[k].with_next = link[k];
      io[k] = step_io_[order[k]];
      new_index[order[k]] = k;
    }
    e_.steps = std::move(steps);
    step_io_ = std::move(io);
    for (auto& ks : p_.kernel_steps) ks.first = new_index[ks.first];
  }

  void mark_outputs() {
    for (const ValueRef& h : g_.heads) {
      int id = buf_[h.node][h.index];
      BufferInfo& b = e_.buffers[id];
      if (b.kind == BufferKind::Arena) {
        b.kind = BufferKind::Output;
        b.index = static_cast<int>(e_.output_buffers.size());
      }
      e_.output_buffers.push_back(id);
    }
  }

  // Stage 3: the arena layout. Values are the buffers, pinned unless Arena; a View is no value
  // of its own, it is read as its root. Step 0 writes the arena buffers no step writes (extra
  // outputs of view nodes), the last step reads the heads (an arena buffer seen through a
  // head view is copied out after the run).
  void lay_out_arena() {
    auto root = [&](int id) {
      while (e_.buffers[id].kind == BufferKind::View) id = e_.buffers[id].view_of;
      return id;
    };
    std::vector<PlanValue> values;
    for (const BufferInfo& b : e_.buffers)
      values.push_back({static_cast<int64_t>(b.nbytes()), b.kind != BufferKind::Arena, b.name});
    std::vector<PlanStep> steps(1);
    std::vector<bool> written(e_.buffers.size(), false);
    for (size_t s = 0; s < e_.steps.size(); ++s) {
      // The steps of a group (Step::with_next) run at once: one plan step, nothing in place.
      const bool grouped = s > 0 && e_.steps[s - 1].with_next;
      if (!grouped) steps.emplace_back();
      PlanStep& ps = steps.back();
      const std::vector<int>& args = e_.steps[s].args;
      for (size_t k = 0; k < args.size(); ++k) (k < step_io_[s].first ? ps.reads : ps.writes).push_back(root(args[k]));
      for (int w : ps.writes) written[w] = true;
      ps.inplace_read = step_io_[s].second && !grouped && !e_.steps[s].with_next ? 0 : -1;
    }
    for (size_t id = 0; id < e_.buffers.size(); ++id)
      if (!values[id].pinned && !written[id]) steps[0].writes.push_back(static_cast<int>(id));
    steps.emplace_back();
    for (int id : e_.output_buffers) steps.back().reads.push_back(root(id));
    PlanOptions po;
    po.reuse = po.inplace = o_.reuse_memory;
    po.alignment = 64;
    MemoryPlan mp = plan_memory(values, steps, po);
#ifndef NDEBUG
    verify_plan(values, steps, mp);
#endif
    for (size_t id = 0; id < e_.buffers.size(); ++id)
      if (!values[id].pinned) e_.buffers[id].offset = mp.offset[id];
    e_.arena_bytes = mp.arena_bytes;
    e_.naive_arena_bytes = mp.naive_bytes;
    if (o_.module_only) p_.plan_table = format_plan(values, mp);
  }

  const Graph& g_;
  const StepPlanOptions& o_;
  Plan p_;
  Executable& e_;
  std::vector<std::vector<int>> buf_;  // value -> buffer id
  size_t step_node_ = 0;               // the node add_node is at
  // Per step: how many of its args it reads, and whether its output may overwrite its first
  // input (the memory planner's inplace_read).
  std::vector<std::pair<size_t, bool>> step_io_;
};

}  // namespace

Plan plan_steps(const Graph& g, const StepPlanOptions& opts) { return Planner(g, opts).run(); }

}  // namespace hgc
