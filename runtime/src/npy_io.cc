// NumPy .npy v1/v2/v3: "\x93NUMPY", u8 major, u8 minor, header length (u16 for v1, u32
// after), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}
// padded so the data starts 64-byte aligned. C order only; little-endian or byte-sized types.
#include <regex>

#include "byte_reader.h"
#include "hgc/base/attrs.h"
#include "hgc/base/files.h"
#include "hgc/runtime/tensor_io.h"

namespace hgc {
namespace {

struct Descr {
  const char* text;
  DType dtype;
};
const Descr kDescrs[] = {
    {"<f4", DType::f32}, {"<f8", DType::f64}, {"<f2", DType::f16}, {"|u1", DType::u8},
    {"<i4", DType::i32}, {"|i1", DType::i8},  {"<i8", DType::i64}, {"|b1", DType::boolean},
    {"<i2", DType::i16}, {"<u2", DType::u16}, {"<u4", DType::u32}, {"<u8", DType::u64},
};

std::string header_value(ByteReader& r, const std::string& header, const std::string& key) {
  std::smatch m;
  std::regex re("['\"]" + key + "['\"]\\s*:\\s*('[^']*'|\"[^\"]*\"|True|False|\\([^)]*\\))");
  if (!std::regex_search(header, m, re)) r.error("npy header lacks '" + key + "'");
  return m[1].str();
}

}  // namespace

HostTensor load_npy_bytes(const std::string& bytes, const std::string& origin) {
  ByteReader r(bytes, origin, "npy");
  const char* magic = r.take(6, "magic");
  if (std::string(magic, 6) != "\x93NUMPY") r.error("not a .npy file (bad magic)");
  uint8_t major = r.read<uint8_t>("major version");
  r.read<uint8_t>("minor version");
  uint32_t hlen;
  if (major == 1) hlen = r.read<uint16_t>("header length");
  else if (major == 2 || major == 3) hlen = r.read<uint32_t>("header length");
  else r.error("unsupported .npy version " + std::to_string(major));
  if (hlen > 1 << 20) r.error("header length " + std::to_string(hlen) + " is implausible");
  std::string header(r.take(hlen, "header"), hlen);

  // bfloat16 has no numpy type: MXNet writes it as the record dtype [('bfloat16', '<u2')].
  static const std::regex bf16_descr("['\"]descr['\"]\\s*:\\s*\\[\\(\\s*'bfloat16'\\s*,\\s*'<u2'\\s*\\)\\]");
  const bool bf16 = std::regex_search(header, bf16_descr);
  std::string descr = bf16 ? "'bfloat16'" : header_value(r, header, "descr");
  descr = descr.substr(1, descr.size() - 2);
  // '=' is native (little-endian here); byte-sized types may be written with any order mark.
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr.size() == 3 && descr[2] == '1') descr[0] = '|';
  DType dtype = bf16 ? DType::bf16 : DType::unknown;
  for (const Descr& d : kDescrs)
    if (descr == d.text) dtype = d.dtype;
  if (dtype == DType::unknown) r.error("unsupported dtype '" + descr + "'");
  if (header_value(r, header, "fortran_order") == "True")
    r.error("Fortran-order arrays are not supported; save with np.ascontiguousarray");
  std::string shape_text = header_value(r, header, "shape");
  std::vector<int64_t> shape;
  try {
    shape = parse_int_tuple(shape_text);
  } catch (const Error&) {
    r.error("bad shape " + shape_text);
  }
  if (shape.size() > 32) r.error("too many dimensions");
  size_t nbytes = checked_nbytes(dtype, shape, "npy", origin);
  r.need(nbytes, "array data");
  HostTensor t(dtype, shape);
  std::memcpy(t.raw(), r.take(nbytes, "array data"), nbytes);
  return t;
}

HostTensor load_npy(const std::string& path) { return load_npy_bytes(read_file(path, "npy"), path); }

std::string save_npy_bytes(const HostTensor& t) {
  const char* descr = nullptr;
  for (const Descr& d : kDescrs)
    if (d.dtype == t.dtype()) descr = d.text;
  if (!descr && t.dtype() != DType::bf16) fail("npy", "cannot save dtype ", dtype_name(t.dtype()), " as .npy");
  std::string shape = "(";
  for (int i = 0; i < t.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  if (t.ndim() == 1) shape += ",";
  shape += ")";
  std::string header =
      std::string("{'descr': ") +
      (t.dtype() == DType::bf16 ? std::string("[('bfloat16', '<u2')]")  // MXNet's spelling
                                : "'" + std::string(descr) + "'") +
      ", 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string s("\x93NUMPY\x01\x00", 8);
  uint16_t hlen = static_cast<uint16_t>(header.size());
  s.append(reinterpret_cast<const char*>(&hlen), 2);
  s += header;
  s.append(static_cast<const char*>(t.raw()), t.nbytes());
  return s;
}

void save_npy(const std::string& path, const HostTensor& t) {
  write_file_atomic(path, save_npy_bytes(t), "npy");
}

}  // namespace hgc
