// MXNet .params: u64 0x112, u64 reserved, u64 N, N arrays, u64 K (0 or N), K names.
// Array encodings (NDArray::Load in MXNet's src/ndarray/ndarray.cc):
//   V2 u32 0xF993FAC9 | V3 0xF993FACA: i32 stype, u32 ndim, ndim x i64, [ctx, i32 dtype, data]
//   V1 u32 0xF993FAC8: u32 ndim, ndim x i64, [ctx, dtype, data]
//   legacy: the first u32 is ndim, then ndim x u32 dims, [ctx, dtype, data]
// ctx = i32 dev_type, i32 dev_id. V3 files use numpy shape semantics: ndim 0 is a scalar and
// ndim -1 an empty array; before V3, ndim 0 is an empty array.
#include "byte_reader.h"
#include "hgc/base/files.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc {
namespace {

constexpr uint64_t kListMagic = 0x112;
constexpr uint32_t kV1 = 0xF993FAC8, kV2 = 0xF993FAC9, kV3 = 0xF993FACA;
constexpr uint32_t kMaxNdim = 32;

HostTensor read_array(ByteReader& r, size_t index) {
  uint32_t magic = r.read<uint32_t>("array magic");
  std::vector<int64_t> shape;
  bool numpy_shape = magic == kV3;
  int32_t ndim;
  if (magic == kV2 || magic == kV3) {
    int32_t stype = r.read<int32_t>("storage type");
    if (stype != 0)
      r.error("array " + std::to_string(index) + " has sparse storage type " +
              std::to_string(stype) + "; only dense arrays are supported");
  }
  if (magic == kV1 || magic == kV2 || magic == kV3) {
    ndim = r.read<int32_t>("ndim");
    if (ndim > static_cast<int32_t>(kMaxNdim) || ndim < -1)
      r.error("array " + std::to_string(index) + " has ndim " + std::to_string(ndim));
    for (int32_t i = 0; i < ndim; ++i) shape.push_back(r.read<int64_t>("dimension"));
  } else {
    ndim = static_cast<int32_t>(magic);  // legacy: no magic, the word is ndim
    if (magic > kMaxNdim) r.error("bad array magic or ndim " + std::to_string(magic));
    for (int32_t i = 0; i < ndim; ++i) shape.push_back(r.read<uint32_t>("dimension"));
  }
  if (ndim < 0 || (ndim == 0 && !numpy_shape)) return HostTensor();  // empty NDArray
  for (int64_t d : shape)
    if (d < 0) r.error("array " + std::to_string(index) + " has negative dimension " + std::to_string(d));
  int32_t dev_type = r.read<int32_t>("device type");
  r.read<int32_t>("device id");
  if (dev_type < 1 || dev_type > 6) r.error("bad device type " + std::to_string(dev_type));
  int32_t code = r.read<int32_t>("dtype");
  auto dtype = dtype_from_code(code);
  if (!dtype) r.error("array " + std::to_string(index) + " has unknown dtype code " + std::to_string(code));
  size_t nbytes = checked_nbytes(*dtype, shape, "params", "array " + std::to_string(index));
  r.need(nbytes, "array data");  // before allocating
  HostTensor t(*dtype, shape);
  std::memcpy(t.raw(), r.take(nbytes, "array data"), nbytes);
  return t;
}

}  // namespace

ParamList load_params_bytes(const std::string& bytes, const std::string& origin) {
  ByteReader r(bytes, origin, "params");
  if (r.read<uint64_t>("header magic") != kListMagic)
    r.error("not an MXNet .params file (bad magic)");
  r.read<uint64_t>("reserved word");
  uint64_t n = r.read<uint64_t>("array count");
  // Each array takes at least 4 bytes: a count beyond that is a lie, not an allocation.
  if (n > r.remaining() / 4) r.error("array count " + std::to_string(n) + " exceeds file size");
  ParamList out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.emplace_back("", read_array(r, i));
  uint64_t k = r.read<uint64_t>("name count");
  if (k != 0 && k != n)
    r.error("name count " + std::to_string(k) + " does not match array count " + std::to_string(n));
  for (uint64_t i = 0; i < k; ++i) {
    uint64_t len = r.read<uint64_t>("name length");
    out[i].first.assign(r.take(len, "name"), len);
  }
  if (r.remaining() != 0) r.error(std::to_string(r.remaining()) + " trailing bytes");
  return out;
}

ParamList load_params(const std::string& path) {
  return load_params_bytes(read_file(path, "params"), path);
}

namespace {
template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
}  // namespace

std::string save_params_bytes(const ParamList& params) {
  std::string s;
  put<uint64_t>(s, kListMagic);
  put<uint64_t>(s, 0);
  put<uint64_t>(s, params.size());
  bool named = false;
  for (const auto& [name, t] : params) {
    named = named || !name.empty();
    put<uint32_t>(s, kV2);
    put<int32_t>(s, 0);
    if (!t.defined()) {
      put<int32_t>(s, 0);
      continue;
    }
    if (t.ndim() == 0) fail("params", "V2 files cannot hold a 0-d array ('", name, "')");
    put<int32_t>(s, t.ndim());
    for (int64_t d : t.shape()) put<int64_t>(s, d);
    put<int32_t>(s, 1);  // cpu
    put<int32_t>(s, 0);
    put<int32_t>(s, dtype_code(t.dtype()));
    s.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  put<uint64_t>(s, named ? params.size() : 0);
  if (named)
    for (const auto& [name, t] : params) {
      put<uint64_t>(s, name.size());
      s += name;
    }
  return s;
}

void save_params(const std::string& path, const ParamList& params) {
  write_file_atomic(path, save_params_bytes(params), "params");
}

std::string strip_param_prefix(const std::string& name) {
  if (name.rfind("arg:", 0) == 0 || name.rfind("aux:", 0) == 0) return name.substr(4);
  return name;
}

}  // namespace hgc
