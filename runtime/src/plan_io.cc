// Executable plan <-> bytes (see plan_io.h for the format and what load_plan checks).
#include "hgc/runtime/plan_io.h"
#include "hgc/runtime/stable_buffers.h"

#include <cstring>

#include "byte_reader.h"
#include "hgc/runtime/dynamic_plan.h"
#include "hgc/base/error.h"

namespace hgc {

namespace {

// A loaded plan's constants are never written while it lives: they are announced as stable
// buffers (stable_buffers.h), so library calls may keep packed forms of them (an AOT
// program's embedded weights, runtime/src/gemm_packed.cc). The announcements and the
// constants' storage are held through `code`, which lives as long as the executable; whoever
// replaces `code` (a JIT module) only ends them, which is safe.
void announce_constants(Executable& e) {
  struct Held {
    std::shared_ptr<const void> code;
    std::vector<HostTensor> constants;
    std::vector<std::unique_ptr<stable::Announcement>> announced;
  };
  auto h = std::make_shared<Held>();
  h->code = e.code;
  for (const HostTensor& t : e.constants)
    if (t.nbytes() > 0) {
      h->constants.push_back(t);
      h->announced.push_back(stable::announce(t.raw(), t.nbytes()));
    }
  e.code = std::move(h);
}

}  // namespace
namespace {

constexpr char kMagic[8] = {'H', 'G', 'C', 'P', 'L', 'A', 'N', '\0'};
// Sizes past these are refused before anything is allocated for them.
constexpr int64_t kMaxArena = int64_t(1) << 38;  // 256 GiB
constexpr int kMaxRank = 32;

class Writer {
 public:
  template <typename T>
  void put(T v) {
    s_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void str(const std::string& v) {
    put<uint32_t>(static_cast<uint32_t>(v.size()));
    s_ += v;
  }
  template <typename T, typename V>
  void vec(const V& v) {
    put<uint32_t>(static_cast<uint32_t>(v.size()));
    for (auto x : v) put<T>(static_cast<T>(x));
  }
  std::string& bytes() { return s_; }

 private:
  std::string s_;
};

class Reader {
 public:
  Reader(std::string_view b, const std::string& origin) : r_(b, origin, "runtime") {}
  template <typename T>
  T get(const char* what) {
    return r_.read<T>(what);
  }
  // A count of items each at least `min_bytes` long: checked against the bytes left.
  uint32_t count(const char* what, uint64_t min_bytes) {
    uint32_t n = get<uint32_t>(what);
    r_.need(n * min_bytes, what);
    return n;
  }
  std::string str(const char* what) {
    uint32_t n = get<uint32_t>(what);
    return std::string(r_.take(n, what), n);
  }
  template <typename T, typename Out = T>
  std::vector<Out> vec(const char* what) {
    uint32_t n = count(what, sizeof(T));
    std::vector<Out> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = static_cast<Out>(get<T>(what));  // (vector<bool> too)
    return v;
  }
  DType dtype(const char* what) {
    auto t = dtype_from_code(get<int32_t>(what));
    if (!t) r_.error(std::string("unknown dtype code in ") + what);
    return *t;
  }
  std::vector<int64_t> shape(const char* what) {
    std::vector<int64_t> s = vec<int64_t>(what);
    if (s.size() > kMaxRank) r_.error(std::string("rank ") + std::to_string(s.size()) + " of " + what);
    return s;
  }
  const char* take(uint64_t n, const char* what) { return r_.take(n, what); }
  [[noreturn]] void error(const std::string& m) const { r_.error(m); }
  size_t remaining() const { return r_.remaining(); }

 private:
  ByteReader r_;
};

// Cross-checks of a parsed plan; every index is in range before anything uses it.
void validate(const Executable& e, const std::string& origin) {
  auto bad = [&](const auto&... parts) { fail("runtime", origin, ": invalid plan: ", parts...); };
  const int nb = static_cast<int>(e.buffers.size());
  auto in_range = [&](int id, const char* what) {
    if (id < 0 || id >= nb) bad(what, " refers to buffer ", id, " of ", nb);
  };
  if (e.arena_bytes < 0 || e.arena_bytes > kMaxArena) bad("arena of ", e.arena_bytes, " bytes");
  if (e.input_names.size() != e.input_buffers.size()) bad(e.input_names.size(), " input names for ", e.input_buffers.size(), " inputs");
  for (int id : e.input_buffers) {
    in_range(id, "an input");
    if (e.buffers[id].kind != BufferKind::Input) bad("input ", id, " is no input buffer");
  }
  for (int id : e.output_buffers) in_range(id, "an output");
  for (int id = 0; id < nb; ++id) {
    const BufferInfo& b = e.buffers[id];
    checked_nbytes(b.dtype, b.shape, "runtime", origin + ": buffer '" + b.name + "'");
    const uint64_t n = b.nbytes();
    switch (b.kind) {
      case BufferKind::Input:
        if (b.index < 0 || b.index >= static_cast<int>(e.input_buffers.size()) || e.input_buffers[b.index] != id)
          bad("input buffer '", b.name, "' has input slot ", b.index);
        break;
      case BufferKind::Constant:
        if (b.index < 0 || b.index >= static_cast<int>(e.constants.size()))
          bad("constant buffer '", b.name, "' has constant slot ", b.index);
        if (e.constants[b.index].shape() != b.shape || e.constants[b.index].dtype() != b.dtype)
          bad("constant '", b.name, "' is ", e.constants[b.index].describe(), ", its buffer differs");
        break;
      case BufferKind::Arena:
        if (b.offset < 0 || b.offset > e.arena_bytes || n > static_cast<uint64_t>(e.arena_bytes - b.offset))
          bad("buffer '", b.name, "' (", n, " bytes at ", b.offset, ") lies outside the arena of ", e.arena_bytes);
        break;
      case BufferKind::Output:
        if (b.index < 0 || b.index >= static_cast<int>(e.output_buffers.size()) || e.output_buffers[b.index] != id)
          bad("output buffer '", b.name, "' has output slot ", b.index);
        break;
      case BufferKind::View:
        // Views come after what they view (so chains end), and see no more bytes than it has.
        if (b.view_of < 0 || b.view_of >= id) bad("view '", b.name, "' of buffer ", b.view_of);
        if (n > e.buffers[b.view_of].nbytes()) bad("view '", b.name, "' is larger than what it views");
        break;
      default:
        bad("buffer '", b.name, "' has kind ", static_cast<int>(b.kind));
    }
  }
  for (size_t k = 0; k < e.steps.size(); ++k) {
    const Step& s = e.steps[k];
    for (int id : s.args) in_range(id, "a step argument");
    for (int id : s.epilogue_args) in_range(id, "an epilogue argument");
    if (s.args.empty()) bad("step ", k, " (", s.label, ") has no arguments");
    if (s.kernel_name.empty() && s.call.empty()) bad("step ", k, " (", s.label, ") has neither kernel nor library call");
    // Kernel and library call together mean "call, then epilogue kernel" (Executable::execute).
    if (!s.epilogue_args.empty() != (!s.kernel_name.empty() && !s.call.empty()))
      bad("step ", k, " (", s.label, "): an epilogue needs a library call, a kernel and arguments");
    if (!s.call.empty()) {
      std::vector<const BufferInfo*> infos;
      for (int id : s.args) infos.push_back(&e.buffers[id]);
      try {
        check_library(s.call, infos);
      } catch (const Error& err) {
        bad("step ", k, " (", s.label, "): ", err.what());
      }
    }
    if (!s.epilogue_rows.empty()) {  // the whole-forward row split cuts these by the output's rows
      if (s.epilogue_rows.size() != s.epilogue_args.size() || !s.epilogue_rows.back() ||
          e.buffers[s.epilogue_args.back()].shape.empty())
        bad("step ", k, " (", s.label, "): malformed epilogue rows");
      const BufferInfo& out = e.buffers[s.epilogue_args.back()];
      for (size_t a = 0; a < s.epilogue_args.size(); ++a) {
        const BufferInfo& b = e.buffers[s.epilogue_args[a]];
        if (s.epilogue_rows[a] && (b.shape.size() != out.shape.size() || b.shape[0] != out.shape[0]))
          bad("step ", k, " (", s.label, "): epilogue argument ", a, " has other rows");
      }
    }
    if (s.split) {
      // run_split cuts every split argument into the rows of the last one (of a row sum's
      // first cut input: its f32 output is summed over them).
      if (s.kernel_name.empty() || s.split_arg.size() != s.args.size())
        bad("split step ", k, " (", s.label, ") is malformed");
      const BufferInfo& last = e.buffers[s.args[s.split_rows_arg()]];
      if (last.shape.empty() || (s.row_sum() && (!s.split_arg[s.split_rows_arg()] ||
                                                  e.buffers[s.args.back()].dtype != DType::f32)))
        bad("split step ", k, " (", s.label, ") is malformed");
      for (size_t a = 0; a < s.args.size(); ++a) {
        const BufferInfo& b = e.buffers[s.args[a]];
        if (s.split_arg[a] && (b.shape.empty() || b.shape[0] != last.shape[0]))
          bad("split step ", k, " (", s.label, "): argument ", a, " has other rows");
      }
    }
  }
}

// The dynamic section, every index checked against the plan read so far.
std::unique_ptr<DynamicSpec> read_dynamic(Reader& r, const Executable& e) {
  auto d = std::make_unique<DynamicSpec>();
  d->degree = r.get<int32_t>("the dynamic degree");
  if (d->degree < 1 || d->degree > 4) r.error("dynamic degree " + std::to_string(d->degree));
  d->vars.resize(r.count("dynamic dims", 4));
  if (d->vars.empty() || d->vars.size() > 8) r.error(std::to_string(d->vars.size()) + " dynamic dims");
  for (auto& v : d->vars) {
    v.at.resize(r.count("dynamic dim places", 8));
    if (v.at.empty()) r.error("a dynamic dim with no place");
    for (auto& [in, axis] : v.at) {
      in = r.get<int32_t>("a dynamic input");
      axis = r.get<int32_t>("a dynamic axis");
      if (in < 0 || in >= static_cast<int>(e.input_buffers.size()) || e.input_buffers[in] < 0 ||
          e.input_buffers[in] >= static_cast<int>(e.buffers.size()) || axis < 0 ||
          axis >= static_cast<int>(e.buffers[e.input_buffers[in]].shape.size()))
        r.error("dynamic dim at input " + std::to_string(in) + " axis " + std::to_string(axis));
    }
  }
  size_t monomials = 1;
  for (size_t k = 0; k < d->vars.size(); ++k) monomials *= static_cast<size_t>(d->degree + 1);
  d->exprs.resize(r.count("dynamic exprs", 12));
  for (DimExpr& x : d->exprs) {
    x.coef = r.vec<int64_t>("expr coefficients");
    x.den = r.get<int64_t>("an expr denominator");
    if (x.coef.size() != monomials || x.den <= 0) r.error("malformed dim expression");
  }
  auto expr_ok = [&](int k) { return k >= 0 && k < static_cast<int>(d->exprs.size()); };
  d->buffer_dims.resize(r.count("dynamic buffer dims", 12));
  for (auto& b : d->buffer_dims) {
    b.buffer = r.get<int32_t>("a buffer");
    b.axis = r.get<int32_t>("an axis");
    b.expr = r.get<int32_t>("an expr");
    if (b.buffer < 0 || b.buffer >= static_cast<int>(e.buffers.size()) || b.axis < 0 ||
        b.axis >= static_cast<int>(e.buffers[b.buffer].shape.size()) || !expr_ok(b.expr) ||
        e.buffers[b.buffer].kind == BufferKind::Constant)
      r.error("malformed dynamic buffer dim");
  }
  d->call_params.resize(r.count("dynamic call parameters", 12));
  for (auto& c : d->call_params) {
    c.step = r.get<int32_t>("a step");
    c.param = r.get<int32_t>("a parameter");
    c.expr = r.get<int32_t>("an expr");
    if (c.step < 0 || c.step >= static_cast<int>(e.steps.size()) || c.param < 0 ||
        c.param >= static_cast<int>(e.steps[c.step].call.params.size()) || !expr_ok(c.expr))
      r.error("malformed dynamic call parameter");
  }
  return d;
}

}  // namespace

std::string save_plan(const Executable& e) {
  Writer w;
  w.bytes().append(kMagic, sizeof(kMagic));
  w.put<uint32_t>(kPlanVersion);
  w.put<int64_t>(e.arena_bytes);
  w.put<int64_t>(e.naive_arena_bytes);
  w.put<uint32_t>(static_cast<uint32_t>(e.input_names.size()));
  for (const std::string& n : e.input_names) w.str(n);
  w.vec<int32_t>(e.input_buffers);
  w.vec<int32_t>(e.output_buffers);
  w.put<uint32_t>(static_cast<uint32_t>(e.ignored_inputs.size()));
  for (const std::string& n : e.ignored_inputs) w.str(n);
  w.put<uint32_t>(static_cast<uint32_t>(e.buffers.size()));
  for (const BufferInfo& b : e.buffers) {
    w.str(b.name);
    w.vec<int64_t>(b.shape);
    w.put<int32_t>(dtype_code(b.dtype));
    w.put<uint8_t>(static_cast<uint8_t>(b.kind));
    w.put<int32_t>(b.index);
    w.put<int64_t>(b.offset);
    w.put<int32_t>(b.view_of);
  }
  w.put<uint32_t>(static_cast<uint32_t>(e.steps.size()));
  for (const Step& s : e.steps) {
    if (s.kernel && s.kernel_name.empty()) fail("runtime", "save_plan: step ", s.label, " has a kernel without a name");
    if (s.library && s.call.empty()) fail("runtime", "save_plan: step ", s.label, " has a library call without a description");
    w.str(s.label);
    w.str(s.kernel_name);
    w.str(s.call.kind);
    w.vec<int64_t>(s.call.params);
    w.vec<int32_t>(s.call.operands);
    w.vec<int32_t>(s.args);
    w.put<uint8_t>(s.split);
    w.vec<uint8_t>(s.split_arg);
    w.vec<int32_t>(s.epilogue_args);
  }
  w.put<uint32_t>(static_cast<uint32_t>(e.constants.size()));
  for (const HostTensor& t : e.constants) {
    w.vec<int64_t>(t.shape());
    w.put<int32_t>(dtype_code(t.dtype()));
    w.put<uint64_t>(t.nbytes());
    w.bytes().append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  // Version 2: the dynamic dims (dynamic_plan.h), if any.
  w.put<uint8_t>(e.dynamic ? 1 : 0);
  if (e.dynamic) {
    const DynamicSpec& d = e.dynamic->spec();
    w.put<int32_t>(d.degree);
    w.put<uint32_t>(static_cast<uint32_t>(d.vars.size()));
    for (const auto& v : d.vars) {
      w.put<uint32_t>(static_cast<uint32_t>(v.at.size()));
      for (const auto& [in, axis] : v.at) w.put<int32_t>(in), w.put<int32_t>(axis);
    }
    w.put<uint32_t>(static_cast<uint32_t>(d.exprs.size()));
    for (const DimExpr& x : d.exprs) {
      w.vec<int64_t>(x.coef);
      w.put<int64_t>(x.den);
    }
    w.put<uint32_t>(static_cast<uint32_t>(d.buffer_dims.size()));
    for (const auto& b : d.buffer_dims) w.put<int32_t>(b.buffer), w.put<int32_t>(b.axis), w.put<int32_t>(b.expr);
    w.put<uint32_t>(static_cast<uint32_t>(d.call_params.size()));
    for (const auto& c : d.call_params) w.put<int32_t>(c.step), w.put<int32_t>(c.param), w.put<int32_t>(c.expr);
  }
  // Version 3: which steps' epilogue kernels take any row count.
  for (const Step& s : e.steps) w.vec<uint8_t>(s.epilogue_rows);
  return std::move(w.bytes());
}

std::shared_ptr<Executable> load_plan(std::string_view bytes, const std::string& origin, const KernelResolver& resolve) {
  Reader r(bytes, origin);
  if (std::memcmp(r.take(sizeof(kMagic), "the magic"), kMagic, sizeof(kMagic)) != 0)
    r.error("not an hgc plan (bad magic)");
  const uint32_t version = r.get<uint32_t>("the version");
  if (version < 1 || version > kPlanVersion)
    r.error("plan version " + std::to_string(version) + ", this program reads versions 1 to " + std::to_string(kPlanVersion));
  auto e = std::make_shared<Executable>();
  e->arena_bytes = r.get<int64_t>("the arena size");
  e->naive_arena_bytes = r.get<int64_t>("the arena size");
  e->input_names.resize(r.count("input names", 4));
  for (std::string& n : e->input_names) n = r.str("an input name");
  e->input_buffers = r.vec<int32_t, int>("input buffers");
  e->output_buffers = r.vec<int32_t, int>("output buffers");
  for (uint32_t n = r.count("ignored inputs", 4); n--;) e->ignored_inputs.insert(r.str("an ignored input"));
  e->buffers.resize(r.count("buffers", 29));
  for (BufferInfo& b : e->buffers) {
    b.name = r.str("a buffer name");
    b.shape = r.shape("a buffer shape");
    b.dtype = r.dtype("a buffer dtype");
    uint8_t kind = r.get<uint8_t>("a buffer kind");
    if (kind > static_cast<uint8_t>(BufferKind::View)) r.error("buffer kind " + std::to_string(kind));
    b.kind = static_cast<BufferKind>(kind);
    b.index = r.get<int32_t>("a buffer index");
    b.offset = r.get<int64_t>("a buffer offset");
    b.view_of = r.get<int32_t>("a buffer view");
  }
  e->steps.resize(r.count("steps", 29));
  for (Step& s : e->steps) {
    s.label = r.str("a step label");
    s.kernel_name = r.str("a kernel name");
    s.call.kind = r.str("a library call");
    s.call.params = r.vec<int64_t>("library parameters");
    s.call.operands = r.vec<int32_t, int>("library operands");
    s.args = r.vec<int32_t, int>("step arguments");
    s.split = r.get<uint8_t>("a split flag") != 0;
    s.split_arg = r.vec<uint8_t, bool>("split arguments");
    s.epilogue_args = r.vec<int32_t, int>("epilogue arguments");
  }
  e->constants.resize(r.count("constants", 16));
  for (HostTensor& t : e->constants) {
    std::vector<int64_t> shape = r.shape("a constant shape");
    DType dt = r.dtype("a constant dtype");
    uint64_t n = r.get<uint64_t>("a constant size");
    if (n != checked_nbytes(dt, shape, "runtime", origin + ": a constant"))
      r.error("constant of " + std::to_string(n) + " bytes for its shape");
    const char* p = r.take(n, "constant data");  // checked before the tensor is allocated
    t = HostTensor::uninitialized(dt, shape);  // written in full just below
    if (n) std::memcpy(t.raw(), p, n);
  }
  announce_constants(*e);
  std::unique_ptr<DynamicSpec> dyn;
  if (version >= 2 && r.get<uint8_t>("the dynamic flag")) dyn = read_dynamic(r, *e);
  if (version >= 3)
    for (Step& s : e->steps) s.epilogue_rows = r.vec<uint8_t, bool>("epilogue rows");
  if (r.remaining()) r.error(std::to_string(r.remaining()) + " bytes after the plan");
  validate(*e, origin);
  if (dyn) e->dynamic = std::make_shared<DynamicPlan>(std::move(*dyn), e.get());
  for (Step& s : e->steps) {
    if (!s.kernel_name.empty()) {
      s.kernel = resolve(s.kernel_name);
      if (!s.kernel) fail("runtime", origin, ": kernel '", s.kernel_name, "' (step ", s.label, ") is not in this program");
    }
    if (!s.call.empty()) s.library = make_library(s.call);
  }
  return e;
}

}  // namespace hgc
