// GpuKernel lists as bytes, for the PTX disk cache (compiler/) and anything else that stores
// a GPU plan's device code. Little-endian, length-prefixed; the reader is bounds-checked
// and rejects counts the remaining bytes cannot hold before allocating for them.
#include <cstring>

#include "byte_reader.h"
#include "hgc/base/error.h"
#include "hgc/runtime/gpu_plan.h"
#include "hgc/runtime/plan_io.h"

namespace hgc {
namespace {

constexpr char kMagic[8] = {'H', 'G', 'C', 'G', 'P', 'U', '1', '\0'};
constexpr char kPlanMagic[8] = {'H', 'G', 'C', 'G', 'P', 'L', 'N', '1'};

// What a GPU plan's steps call if anyone runs them on the CPU: they have no CPU code.
void device_only_kernel(void**) {
  fail("runtime", "a kernel of a GPU plan has only device code (run the plan with GpuExecutable)");
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

struct Reader {
  ByteReader r;
  std::string str(const char* what) {
    uint64_t n = r.read<uint64_t>(what);
    return std::string(r.take(n, what), n);
  }
  // A count of items of at least `min_bytes` each, checked against what is left.
  uint32_t count(const char* what, size_t min_bytes) {
    uint32_t n = r.read<uint32_t>(what);
    r.need(uint64_t(n) * min_bytes, what);
    return n;
  }
};

}  // namespace

std::string save_gpu_kernels(const std::vector<GpuKernel>& kernels) {
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, static_cast<uint32_t>(kernels.size()));
  for (const GpuKernel& k : kernels) {
    put_str(out, k.name);
    put<uint32_t>(out, static_cast<uint32_t>(k.temp_bytes.size()));
    for (int64_t b : k.temp_bytes) put<int64_t>(out, b);
    put<uint32_t>(out, static_cast<uint32_t>(k.launches.size()));
    for (const GpuLaunch& l : k.launches) {
      put_str(out, l.module);
      put_str(out, l.entry);
      put<uint32_t>(out, static_cast<uint32_t>(l.ptx.size()));
      for (const auto& [chip, ptx] : l.ptx) put_str(out, chip), put_str(out, ptx);
      for (int d = 0; d < 3; ++d) put<int64_t>(out, l.grid[d]);
      for (int d = 0; d < 3; ++d) put<int64_t>(out, l.block[d]);
      put<uint32_t>(out, static_cast<uint32_t>(l.operands.size()));
      for (const GpuOperand& o : l.operands) {
        put<uint8_t>(out, static_cast<uint8_t>(o.kind));
        put<int32_t>(out, o.index);
        put<int64_t>(out, o.offset);
        put<uint32_t>(out, static_cast<uint32_t>(o.sizes.size()));
        for (int64_t s : o.sizes) put<int64_t>(out, s);
        put<uint32_t>(out, static_cast<uint32_t>(o.strides.size()));
        for (int64_t s : o.strides) put<int64_t>(out, s);
        put<int64_t>(out, o.ival);
        put<double>(out, o.fval);
        put<int32_t>(out, o.bits);
      }
    }
  }
  return out;
}

std::vector<GpuKernel> load_gpu_kernels(const std::string& bytes, const std::string& origin) {
  Reader in{ByteReader(bytes, origin, "runtime")};
  const char* magic = in.r.take(sizeof kMagic, "magic");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) in.r.error("not a GPU kernel list (bad magic)");
  std::vector<GpuKernel> kernels(in.count("kernel count", 16));
  for (GpuKernel& k : kernels) {
    k.name = in.str("kernel name");
    k.temp_bytes.resize(in.count("scratch count", 8));
    for (int64_t& b : k.temp_bytes)
      if ((b = in.r.read<int64_t>("scratch size")) < 0) in.r.error("negative scratch size");
    k.launches.resize(in.count("launch count", 68));
    for (GpuLaunch& l : k.launches) {
      l.module = in.str("module name");
      l.entry = in.str("entry name");
      uint32_t n = in.count("PTX count", 16);
      for (uint32_t i = 0; i < n; ++i) {
        std::string chip = in.str("chip");
        l.ptx[chip] = in.str("PTX");
      }
      for (int d = 0; d < 6; ++d) {
        int64_t v = in.r.read<int64_t>("launch size");
        if (v < 1 || v > (int64_t(1) << 31)) in.r.error("launch size out of range");
        (d < 3 ? l.grid[d] : l.block[d - 3]) = v;
      }
      l.operands.resize(in.count("operand count", 41));
      for (GpuOperand& o : l.operands) {
        uint8_t kind = in.r.read<uint8_t>("operand kind");
        if (kind > static_cast<uint8_t>(GpuOperand::Kind::Float)) in.r.error("bad operand kind");
        o.kind = static_cast<GpuOperand::Kind>(kind);
        o.index = in.r.read<int32_t>("operand index");
        o.offset = in.r.read<int64_t>("operand offset");
        o.sizes.resize(in.count("rank", 8));
        for (int64_t& s : o.sizes) s = in.r.read<int64_t>("size");
        o.strides.resize(in.count("rank", 8));
        for (int64_t& s : o.strides) s = in.r.read<int64_t>("stride");
        if (o.sizes.size() != o.strides.size()) in.r.error("sizes and strides differ in rank");
        o.ival = in.r.read<int64_t>("integer operand");
        o.fval = in.r.read<double>("float operand");
        o.bits = in.r.read<int32_t>("operand width");
      }
    }
  }
  if (in.r.remaining()) in.r.error("trailing bytes");
  return kernels;
}

std::string save_gpu_plan(const GpuPlan& plan) {
  if (!plan.exe) fail("runtime", "save_gpu_plan: the plan has no steps (empty GpuPlan)");
  std::string out(kPlanMagic, sizeof kPlanMagic);
  put_str(out, save_plan(*plan.exe));
  put_str(out, save_gpu_kernels(plan.kernels));
  put<uint32_t>(out, static_cast<uint32_t>(plan.chips.size()));
  for (const std::string& c : plan.chips) put_str(out, c);
  put<uint32_t>(out, static_cast<uint32_t>(plan.library_kernels.size()));
  for (const auto& [step, name] : plan.library_kernels) put<uint64_t>(out, step), put_str(out, name);
  return out;
}

GpuPlan load_gpu_plan(const std::string& bytes, const std::string& origin) {
  Reader in{ByteReader(bytes, origin, "runtime")};
  const char* magic = in.r.take(sizeof kPlanMagic, "magic");
  if (std::memcmp(magic, kPlanMagic, sizeof kPlanMagic) != 0) in.r.error("not a GPU plan (bad magic)");
  GpuPlan p;
  std::string steps = in.str("step plan");
  p.exe = load_plan(steps, origin + " (steps)", [](const std::string&) { return &device_only_kernel; });
  // The CPU's row split means nothing on the device, and the stub must not throw inside a
  // pool worker (std::terminate): whoever runs these steps on the CPU runs them serially.
  for (Step& s : p.exe->steps) s.split = false;
  p.kernels = load_gpu_kernels(in.str("device kernels"), origin + " (kernels)");
  p.chips.resize(in.count("chip count", 8));
  for (std::string& c : p.chips) c = in.str("chip");
  for (uint32_t n = in.count("library kernel count", 16); n--;) {
    uint64_t step = in.r.read<uint64_t>("library kernel step");
    if (step >= p.exe->steps.size()) in.r.error("library kernel for step " + std::to_string(step) + " of " +
                                                std::to_string(p.exe->steps.size()));
    p.library_kernels[step] = in.str("library kernel name");
  }
  if (in.r.remaining()) in.r.error("trailing bytes");
  return p;
}

}  // namespace hgc
