// TensorProto <-> OnnxTensor: dtypes, the typed and raw data fields, external data files.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "hgc/base/files.h"
#include "importer.h"

namespace hgc {

const char* onnx_unsupported_name(OnnxUnsupportedKind k) {
  switch (k) {
    case OnnxUnsupportedKind::Dtype: return "dtype";
    case OnnxUnsupportedKind::SequenceOrOptional: return "sequence-or-optional";
    case OnnxUnsupportedKind::Training: return "training";
  }
  return "?";
}

int64_t OnnxTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// bfloat16 is the upper half of a float32 (ONNX keeps its bits in int32_data or raw_data).
static float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
static uint16_t float_to_bf16(float f) {  // round to nearest even; NaN stays a quiet NaN
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

template <typename F>
static auto visit_elem(const OnnxTensor& t, int64_t i, F f) {
  const char* p = t.bytes.data() + i * dtype_size(t.dtype);
  auto rd = [&](auto tag) {
    decltype(tag) v;
    std::memcpy(&v, p, sizeof v);
    return f(v);
  };
  switch (t.dtype) {
    case DType::f32: return rd(float{});
    case DType::f64: return rd(double{});
    case DType::u8: return rd(uint8_t{});
    case DType::i8: return rd(int8_t{});
    case DType::u16: return rd(uint16_t{});
    case DType::i16: return rd(int16_t{});
    case DType::i32: return rd(int32_t{});
    case DType::u32: return rd(uint32_t{});
    case DType::i64: return rd(int64_t{});
    case DType::u64: return rd(uint64_t{});
    case DType::boolean: return rd(uint8_t{});
    case DType::bf16: {
      uint16_t b;
      std::memcpy(&b, p, sizeof b);
      return f(bf16_to_float(b));
    }
    default: fail("onnx", "tensor element of dtype ", dtype_name(t.dtype), " cannot be read as a number");
  }
}

double OnnxTensor::as_double(int64_t i) const {
  return visit_elem(*this, i, [](auto v) { return static_cast<double>(v); });
}
int64_t OnnxTensor::as_int(int64_t i) const {
  return visit_elem(*this, i, [](auto v) -> int64_t {
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      if (!(v >= -9.2e18 && v <= 9.2e18)) return 0;
    }
    return static_cast<int64_t>(v);
  });
}

bool is_onnx_path(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

OnnxTensor read_onnx_tensor_file(const std::string& path) {
  std::string bytes = read_file(path, "onnx");
  onnx_detail::pb::TensorProto t;
  if (!t.ParseFromString(bytes)) fail("onnx", path, ": not a serialized TensorProto (truncated or malformed)");
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  return onnx_detail::tensor_from_proto(t, dir, path);
}

namespace onnx_detail {

DType dtype_from_onnx(int e, const std::string& where) {
  switch (e) {
    case pb::TensorProto::FLOAT: return DType::f32;
    case pb::TensorProto::DOUBLE: return DType::f64;
    case pb::TensorProto::UINT8: return DType::u8;
    case pb::TensorProto::INT8: return DType::i8;
    case pb::TensorProto::UINT16: return DType::u16;
    case pb::TensorProto::INT16: return DType::i16;
    case pb::TensorProto::INT32: return DType::i32;
    case pb::TensorProto::INT64: return DType::i64;
    case pb::TensorProto::UINT32: return DType::u32;
    case pb::TensorProto::UINT64: return DType::u64;
    case pb::TensorProto::BOOL: return DType::boolean;
    case pb::TensorProto::BFLOAT16: return DType::bf16;
    case pb::TensorProto::FLOAT16:
    case pb::TensorProto::STRING:
    case pb::TensorProto::COMPLEX64:
    case pb::TensorProto::COMPLEX128: {
      std::string name = pb::TensorProto::DataType_Name(static_cast<pb::TensorProto::DataType>(e));
      throw OnnxUnsupported(OnnxUnsupportedKind::Dtype, where + ": element type " + name + " is not supported");
    }
    default: fail("onnx", where, ": unknown element type ", e);
  }
}

int onnx_from_dtype(DType t) {
  switch (t) {
    case DType::f32: return pb::TensorProto::FLOAT;
    case DType::f64: return pb::TensorProto::DOUBLE;
    case DType::f16: return pb::TensorProto::FLOAT16;
    case DType::bf16: return pb::TensorProto::BFLOAT16;
    case DType::u8: return pb::TensorProto::UINT8;
    case DType::i8: return pb::TensorProto::INT8;
    case DType::u16: return pb::TensorProto::UINT16;
    case DType::i16: return pb::TensorProto::INT16;
    case DType::i32: return pb::TensorProto::INT32;
    case DType::i64: return pb::TensorProto::INT64;
    case DType::u32: return pb::TensorProto::UINT32;
    case DType::u64: return pb::TensorProto::UINT64;
    case DType::boolean: return pb::TensorProto::BOOL;
    default: fail("onnx", "dtype ", dtype_name(t), " has no ONNX element type");
  }
}

OnnxTensor make_tensor(DType t, std::vector<int64_t> shape) {
  OnnxTensor r;
  r.dtype = t;
  r.shape = std::move(shape);
  r.bytes.assign(r.numel() * dtype_size(t), '\0');
  return r;
}

template <typename T>
static void put(OnnxTensor& t, int64_t i, T v) {
  std::memcpy(t.bytes.data() + i * sizeof(T), &v, sizeof(T));
}

void set_elem(OnnxTensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::f32: return put(t, i, static_cast<float>(v));
    case DType::f64: return put(t, i, v);
    case DType::bf16: return put(t, i, float_to_bf16(static_cast<float>(v)));
    case DType::boolean: return put(t, i, static_cast<uint8_t>(v != 0));
    default: return set_elem_int(t, i, std::isfinite(v) ? static_cast<int64_t>(v) : 0);
  }
}

void set_elem_int(OnnxTensor& t, int64_t i, int64_t v) {
  switch (t.dtype) {
    case DType::f32: return put(t, i, static_cast<float>(v));
    case DType::f64: return put(t, i, static_cast<double>(v));
    case DType::bf16: return put(t, i, float_to_bf16(static_cast<float>(v)));
    case DType::u8: return put(t, i, static_cast<uint8_t>(v));
    case DType::i8: return put(t, i, static_cast<int8_t>(v));
    case DType::u16: return put(t, i, static_cast<uint16_t>(v));
    case DType::i16: return put(t, i, static_cast<int16_t>(v));
    case DType::i32: return put(t, i, static_cast<int32_t>(v));
    case DType::u32: return put(t, i, static_cast<uint32_t>(v));
    case DType::i64: return put(t, i, v);
    case DType::u64: return put(t, i, static_cast<uint64_t>(v));
    case DType::boolean: return put(t, i, static_cast<uint8_t>(v != 0));
    default: fail("onnx", "cannot store into a tensor of dtype ", dtype_name(t.dtype));
  }
}

OnnxTensor int_tensor(const std::vector<int64_t>& v, bool scalar) {
  OnnxTensor t = make_tensor(DType::i64, scalar ? std::vector<int64_t>{} : std::vector<int64_t>{(int64_t)v.size()});
  for (size_t i = 0; i < v.size() && i < (size_t)t.numel(); ++i) set_elem_int(t, i, v[i]);
  return t;
}

std::vector<int64_t> tensor_ints(const OnnxTensor& t) {
  std::vector<int64_t> r(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) r[i] = t.as_int(i);
  return r;
}

std::vector<double> tensor_doubles(const OnnxTensor& t) {
  std::vector<double> r(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) r[i] = t.as_double(i);
  return r;
}

namespace {

std::string read_external(const pb::TensorProto& t, const std::string& base_dir, const std::string& where) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& e : t.external_data()) {
    try {
      if (e.key() == "location") location = e.value();
      else if (e.key() == "offset") offset = std::stoll(e.value());
      else if (e.key() == "length") length = std::stoll(e.value());
    } catch (const std::exception&) {
      fail("onnx", where, ": external data entry '", e.key(), "' is not a number: '", e.value(), "'");
    }
  }
  if (location.empty()) fail("onnx", where, ": external data without a location");
  if (location[0] == '/' || location.find("..") != std::string::npos)
    fail("onnx", where, ": external data location '", location, "' must be a relative path beside the model");
  std::string path = base_dir + "/" + location;
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("onnx", where, ": cannot open external data file '", path, "'");
  f.seekg(0, std::ios::end);
  int64_t size = f.tellg();
  if (offset < 0 || offset > size) fail("onnx", where, ": external data offset ", offset, " outside '", path, "' (", size, " bytes)");
  if (length < 0) length = size - offset;
  if (length > size - offset) fail("onnx", where, ": external data '", path, "' holds ", size - offset, " bytes after offset ", offset, ", tensor needs ", length);
  std::string bytes(length, '\0');
  f.seekg(offset);
  f.read(bytes.data(), length);
  if (!f) fail("onnx", where, ": reading external data '", path, "' failed");
  return bytes;
}

}  // namespace

OnnxTensor tensor_from_proto(const pb::TensorProto& t, const std::string& base_dir, const std::string& where_in) {
  std::string where = where_in + (t.name().empty() ? "" : " tensor '" + t.name() + "'");
  OnnxTensor r;
  r.dtype = dtype_from_onnx(t.data_type(), where);
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) fail("onnx", where, ": negative dim ", d);
    if (d > 0 && n > (int64_t(1) << 40) / d) fail("onnx", where, ": tensor too large");
    n *= d;
    r.shape.push_back(d);
  }
  size_t es = dtype_size(r.dtype);
  size_t want = n * es;
  auto count = [&](int64_t have) {
    if (have != n) fail("onnx", where, ": holds ", have, " values, its shape needs ", n);
  };
  if (t.data_location() == pb::TensorProto::EXTERNAL) {
    r.bytes = read_external(t, base_dir, where);
    if (r.bytes.size() != want) fail("onnx", where, ": external data has ", r.bytes.size(), " bytes, shape needs ", want);
    return r;
  }
  if (t.has_raw_data()) {
    if (t.raw_data().size() != want) fail("onnx", where, ": raw data has ", t.raw_data().size(), " bytes, shape needs ", want);
    r.bytes = t.raw_data();
    return r;
  }
  r.bytes.assign(want, '\0');
  switch (r.dtype) {
    case DType::f32:
      count(t.float_data_size());
      for (int64_t i = 0; i < n; ++i) put(r, i, t.float_data(i));
      break;
    case DType::f64:
      count(t.double_data_size());
      for (int64_t i = 0; i < n; ++i) put(r, i, t.double_data(i));
      break;
    case DType::i64:
      count(t.int64_data_size());
      for (int64_t i = 0; i < n; ++i) put(r, i, t.int64_data(i));
      break;
    case DType::u32:
    case DType::u64:
      count(t.uint64_data_size());
      for (int64_t i = 0; i < n; ++i) set_elem_int(r, i, static_cast<int64_t>(t.uint64_data(i)));
      break;
    case DType::bf16:  // the 16 bits of each value in int32_data
      count(t.int32_data_size());
      for (int64_t i = 0; i < n; ++i) put(r, i, static_cast<uint16_t>(t.int32_data(i)));
      break;
    default:  // int32, int16, int8, uint16, uint8, bool live in int32_data
      count(t.int32_data_size());
      for (int64_t i = 0; i < n; ++i) set_elem_int(r, i, t.int32_data(i));
  }
  return r;
}

}  // namespace onnx_detail
}  // namespace hgc
