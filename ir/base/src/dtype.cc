#include "hgc/base/dtype.h"

#include <array>

namespace hgc {
namespace {
struct Info {
  DType t;
  const char* name;
  const char* short_name;
  std::size_t size;
};
constexpr std::array<Info, 13> kInfos{{
    {DType::f32, "float32", "f32", 4}, {DType::f64, "float64", "f64", 8},
    {DType::f16, "float16", "f16", 2}, {DType::u8, "uint8", "u8", 1},
    {DType::i32, "int32", "i32", 4},   {DType::i8, "int8", "i8", 1},
    {DType::i64, "int64", "i64", 8},   {DType::boolean, "bool", "bool", 1},
    {DType::i16, "int16", "i16", 2},   {DType::u16, "uint16", "u16", 2},
    {DType::u32, "uint32", "u32", 4},  {DType::u64, "uint64", "u64", 8},
    {DType::bf16, "bfloat16", "bf16", 2},
}};
const Info* info(DType t) {
  int c = static_cast<int>(t);
  return (c >= 0 && c < static_cast<int>(kInfos.size())) ? &kInfos[c] : nullptr;
}
}  // namespace

std::size_t dtype_size(DType t) { return info(t) ? info(t)->size : 0; }
std::string dtype_name(DType t) { return info(t) ? info(t)->name : "unknown"; }

std::optional<DType> dtype_from_name(const std::string& name) {
  for (const Info& i : kInfos)
    if (name == i.name || name == i.short_name) return i.t;
  if (name == "float") return DType::f32;
  if (name == "double") return DType::f64;
  if (name == "half") return DType::f16;
  return std::nullopt;
}

std::optional<DType> dtype_from_code(long long code) {
  if (code < 0 || code >= static_cast<long long>(kInfos.size())) return std::nullopt;
  return static_cast<DType>(code);
}

bool dtype_is_float(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16;
}

}  // namespace hgc
