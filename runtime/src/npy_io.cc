// NumPy .npy v1/v2/v3: "\x93NUMPY", u8 major, u8 minor, header length (u16 for v1, u32
// after), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}
// padded so the data starts 64-byte aligned. C order only; little-endian or byte-sized types.
#include <cctype>
#include <string_view>

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

bool quote(char c) { return c == '\'' || c == '"'; }

// The value of `key` in the header's dict literal, as written: a quoted string, True, False,
// a tuple, or a list (MXNet's bfloat16 record); empty when the key or its value is missing.
// Scanned by hand: std::regex took ~1 ms of an AOT program's start-up here (4 patterns
// compiled per file, with the locale set-up of the first).
std::string_view find_value(std::string_view h, std::string_view key) {
  auto space = [&](size_t i) {
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
    return i;
  };
  for (size_t at = h.find(key); at != std::string_view::npos; at = h.find(key, at + 1)) {
    size_t i = at + key.size();
    if (at == 0 || !quote(h[at - 1]) || i >= h.size() || !quote(h[i])) continue;
    i = space(i + 1);
    if (i >= h.size() || h[i] != ':') continue;
    i = space(i + 1);
    if (i >= h.size()) return {};
    const char c = h[i];
    if (h.substr(i, 4) == "True") return h.substr(i, 4);
    if (h.substr(i, 5) == "False") return h.substr(i, 5);
    const char close = quote(c) ? c : c == '(' ? ')' : c == '[' ? ']' : '\0';
    if (!close) return {};
    size_t end = h.find(close, i + 1);
    if (end == std::string_view::npos) return {};
    return h.substr(i, end - i + 1);
  }
  return {};
}

std::string header_value(ByteReader& r, const std::string& header, const std::string& key) {
  std::string_view v = find_value(header, key);
  if (v.empty() || v[0] == '[') r.error("npy header lacks '" + key + "'");
  return std::string(v);
}

// MXNet's spelling of bfloat16 (no numpy type): the record dtype [('bfloat16', '<u2')].
bool bf16_descr(const std::string& header) {
  std::string compact;
  for (char c : find_value(header, "descr"))
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  return compact == "[('bfloat16','<u2')]";
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

  const bool bf16 = bf16_descr(header);
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
  HostTensor t = HostTensor::uninitialized(dtype, shape);  // written in full just below
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
