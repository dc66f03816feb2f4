// amp: mixed precision by inserting casts (algorithm in amp.h).
#include "hgc/passes/amp.h"

#include <algorithm>

#include "graph_rewrite.h"
#include "hgc/base/error.h"
#include "hgc/ir/op.h"

namespace hgc {
namespace {

enum class Policy { Low, Fp32, Follow };

// Ops that move bits only: a cast commutes with them.
const std::set<std::string>& views() {
  static const std::set<std::string> v{"Reshape", "reshape", "Flatten", "flatten", "expand_dims", "squeeze",
                                       "transpose", "SwapAxis", "swapaxes", "slice", "slice_axis", "_copy",
                                       "identity"};
  return v;
}

bool listed(const std::set<std::string>& s, const Node& n) {
  if (s.count(n.op_name) || s.count(n.op->name)) return true;
  for (const std::string& a : n.op->aliases)
    if (s.count(a)) return true;
  return false;
}

class Converter {
 public:
  Converter(const Graph& g, const AmpOptions& o) : old_(g), o_(o) {}

  // A training trace: nodes [0, boundary) are the forward, `forward_heads` its outputs (cast
  // back to their dtypes at the boundary, inside the forward).
  void split_at(int boundary, std::vector<ValueRef> forward_heads) {
    boundary_ = boundary;
    forward_heads_ = std::move(forward_heads);
  }

  Graph run() {
    map_.resize(old_.nodes.size());
    out_.extra_attrs = old_.extra_attrs;
    out_.mxnet_version = old_.mxnet_version;
    for (size_t i = 0; i <= old_.nodes.size(); ++i) {
      if (static_cast<int>(i) == boundary_) {
        for (const ValueRef& h : forward_heads_) {
          ValueRef v = map_[h.node][h.index];
          DType want = old_.nodes[h.node].out_dtypes[h.index];
          if (dtype(v) != want && dtype(v) == o_.target) v = cast(v, want);
          new_forward_heads_.push_back(v);
        }
        new_boundary_ = static_cast<int>(out_.nodes.size());
      }
      if (i < old_.nodes.size()) convert(static_cast<int>(i));
    }
    for (const ValueRef& h : old_.heads) {
      ValueRef v = map_[h.node][h.index];
      DType want = old_.nodes[h.node].out_dtypes[h.index];
      if (dtype(v) != want && dtype(v) == o_.target) v = cast(v, want);
      out_.heads.push_back(v);
    }
    return std::move(out_);
  }
  int casts() const { return casts_; }
  const std::vector<std::vector<ValueRef>>& map() const { return map_; }
  int new_boundary() const { return new_boundary_; }
  const std::vector<ValueRef>& new_forward_heads() const { return new_forward_heads_; }

 private:
  DType dtype(ValueRef v) const { return out_.nodes[v.node].out_dtypes[v.index]; }

  // `v` as `to`: shared per value; a target-type value widened by a cast is read directly.
  ValueRef cast(ValueRef v, DType to) {
    if (dtype(v) == to) return v;
    const Node& p = out_.nodes[v.node];
    if (p.op && p.op->name == "Cast" && dtype(p.inputs[0]) == to && dtype_size(to) < dtype_size(dtype(v)))
      return p.inputs[0];
    auto key = std::make_pair(v, to);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    // A view (reshape, transpose, ...) of a value already cast: the same view of that cast
    // (the same bits). One memory pass less, and in a training trace the gradient graph's
    // reshape of a forward activation reuses the forward's bfloat16 copy instead of reading the
    // float32 one (MultiVAE's 500x20108 input: 3.3 ms a step).
    if (p.op && v.index == 0 && p.inputs.size() == 1 && p.out_dtypes.size() == 1 && listed(views(), p)) {
      auto in = cache_.find(std::make_pair(p.inputs[0], to));
      if (in != cache_.end()) {
        Node n = p;
        n.inputs = {in->second};
        n.name = rewrite::unique_name(out_, p.name + "_amp_" + dtype_name(to));
        n.out_dtypes = {to};
        out_.nodes.push_back(std::move(n));
        return cache_[key] = {static_cast<int>(out_.nodes.size()) - 1, 0};
      }
    }
    const OpDef& def = OpRegistry::global().get("Cast");
    AttrMap attrs{{"dtype", parse_attr(*def.attr_spec("dtype"), dtype_name(to))}};
    std::string name = rewrite::unique_name(out_, p.name + "_amp_cast_" + dtype_name(to));
    Shape shape = p.out_shapes[v.index];
    int id = out_.add_node("Cast", name, {v}, attrs);
    out_.nodes[id].out_shapes = {shape};
    out_.nodes[id].out_dtypes = {to};
    ++casts_;
    return cache_[key] = {id, 0};
  }

  Policy policy(const Node& n) const {
    const AmpLists& l = o_.lists;
    for (const auto& [op, attr, values] : l.conditional_fp32) {
      if (n.op_name != op && n.op->name != op) continue;
      AttrView a = n.attr_view();
      if (!a.is_none(attr) && std::find(values.begin(), values.end(), a.s(attr)) != values.end()) return Policy::Fp32;
    }
    if (listed(l.low_precision, n)) return Policy::Low;
    if (listed(l.follow, n) || listed(l.widest, n)) return Policy::Follow;
    return Policy::Fp32;
  }

  // Adds old node i with inputs `ins`; infers its output dtypes. False (nothing added) when
  // its dtype rule rejects them.
  bool add(int i, const std::vector<ValueRef>& ins) {
    Node n = old_.nodes[i];
    n.inputs = ins;
    std::vector<DType> in, out(n.out_dtypes.size(), DType::unknown);
    for (const ValueRef& v : ins) in.push_back(dtype(v));
    try {
      AttrView a = n.attr_view();
      TypeCtx tc{a, in, out};
      if (!n.op->infer_type || !n.op->infer_type(tc)) return false;
    } catch (const Error&) {
      return false;
    }
    for (DType t : out)
      if (t == DType::unknown) return false;
    n.out_dtypes = out;
    out_.nodes.push_back(std::move(n));
    int id = static_cast<int>(out_.nodes.size()) - 1;
    for (size_t k = 0; k < out.size(); ++k) map_[i].push_back({id, static_cast<int>(k)});
    return true;
  }

  void convert(int i) {
    const Node& n = old_.nodes[i];
    std::vector<ValueRef> ins;
    for (const ValueRef& v : n.inputs) ins.push_back(map_[v.node][v.index]);
    if (n.is_variable() || !n.op || !n.op->infer_type) {  // copied as it is
      Node c = n;
      c.inputs = ins;
      out_.nodes.push_back(std::move(c));
      int id = static_cast<int>(out_.nodes.size()) - 1;
      for (size_t k = 0; k < std::max<size_t>(1, n.out_dtypes.size()); ++k) map_[i].push_back({id, static_cast<int>(k)});
      return;
    }
    const DType lp = o_.target;
    std::set<std::string> keep;  // input names that stay float32
    if (auto it = o_.lists.fp32_params.find(n.op->name); it != o_.lists.fp32_params.end()) keep = it->second;
    // Casts stay as written (their input is what they convert).
    if (n.op->name == "Cast" && add(i, ins)) return;
    Names names = n.op->input_names ? n.op->input_names(n.attr_view()) : Names{};
    auto kept = [&](size_t k) { return k < names.size() && keep.count(names[k]); };
    Policy p = policy(n);
    if (p == Policy::Follow) {  // the wider type when float inputs are mixed
      bool any_f32 = false, any_lp = false;
      for (size_t k = 0; k < ins.size(); ++k) {
        if (kept(k)) continue;
        any_f32 = any_f32 || dtype(ins[k]) == DType::f32;
        any_lp = any_lp || dtype(ins[k]) == lp;
      }
      if (!any_lp) p = Policy::Fp32;
      else if (any_f32) p = Policy::Fp32;
      else if (add(i, ins)) return;
      else p = Policy::Fp32;
    }
    if (p == Policy::Low) {
      std::vector<ValueRef> low = ins;
      for (size_t k = 0; k < low.size(); ++k)
        if (!kept(k) && dtype(low[k]) == DType::f32) low[k] = cast(low[k], lp);
      if (add(i, low)) return;
    }
    for (ValueRef& v : ins)
      if (dtype(v) == lp) v = cast(v, DType::f32);
    if (!add(i, ins)) fail("amp", n.describe(), ": its dtype rule rejects float32 inputs");
  }

  const Graph& old_;
  const AmpOptions& o_;
  Graph out_;
  std::vector<std::vector<ValueRef>> map_;
  std::map<std::pair<ValueRef, DType>, ValueRef> cache_;
  int casts_ = 0;
  int boundary_ = -1, new_boundary_ = -1;
  std::vector<ValueRef> forward_heads_, new_forward_heads_;
};

class AmpPass : public Pass {
 public:
  explicit AmpPass(AmpOptions o) : o_(std::move(o)) {}
  std::string name() const override { return "amp"; }
  std::set<Fact> requires_facts() const override { return {Fact::ShapesInferred}; }
  std::set<Fact> provides() const override { return {Fact::ShapesInferred}; }  // re-infers
  std::set<Fact> invalidates() const override { return {Fact::Verified, Fact::Fused, Fact::MemoryPlanned}; }
  void run(Graph& g) override { amp_convert(g, o_); }

 private:
  AmpOptions o_;
};

}  // namespace

int amp_convert(Graph& g, const AmpOptions& opts) {
  if (opts.target != DType::bf16 && opts.target != DType::f16)
    fail("amp", "target dtype must be bfloat16 or float16, got ", dtype_name(opts.target));
  Converter c(g, opts);
  Graph out = c.run();
  if (c.casts() == 0) return 0;
  g = std::move(out);
  rewrite::reinfer(g);
  return c.casts();
}

AmpTrainingSplit amp_convert_training(Graph& g, const AmpOptions& opts, int boundary,
                                      const std::vector<ValueRef>& forward_heads) {
  if (opts.target != DType::bf16 && opts.target != DType::f16)
    fail("amp", "target dtype must be bfloat16 or float16, got ", dtype_name(opts.target));
  if (boundary < 0 || boundary > static_cast<int>(g.nodes.size()))
    fail("amp", "training split at node ", boundary, " of a graph of ", g.nodes.size());
  for (const ValueRef& h : forward_heads)
    if (h.node < 0 || h.node >= boundary) fail("amp", "a forward output (node ", h.node, ") lies past the forward's end");
  Converter c(g, opts);
  c.split_at(boundary, forward_heads);
  Graph out = c.run();
  AmpTrainingSplit r{c.map(), c.new_boundary(), c.new_forward_heads(), c.casts()};
  g = std::move(out);
  rewrite::reinfer(g);
  return r;
}

std::unique_ptr<Pass> make_amp_pass(AmpOptions opts) { return std::make_unique<AmpPass>(std::move(opts)); }

}  // namespace hgc
