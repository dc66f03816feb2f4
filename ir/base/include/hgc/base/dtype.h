// Element types with MXNet's numeric codes (the codes .params files and `__dtype__` use).
//
//   DType t = dtype_from_name("float32");   // DType::f32, code 0
//   dtype_size(t) == 4; dtype_name(t) == "float32";
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace hgc {

enum class DType : int {
  unknown = -1,
  f32 = 0, f64 = 1, f16 = 2, u8 = 3, i32 = 4, i8 = 5, i64 = 6,
  boolean = 7, i16 = 8, u16 = 9, u32 = 10, u64 = 11, bf16 = 12,
};

// Size in bytes of one element; 0 for unknown.
std::size_t dtype_size(DType t);
// MXNet's numpy-style name ("float32", "int64", "bool", "bfloat16").
std::string dtype_name(DType t);
// Accepts MXNet names ("float32", "int8", ...) and short names ("f32"); nullopt otherwise.
std::optional<DType> dtype_from_name(const std::string& name);
// Accepts codes 0..12; nullopt otherwise.
std::optional<DType> dtype_from_code(long long code);
inline int dtype_code(DType t) { return static_cast<int>(t); }
bool dtype_is_float(DType t);

}  // namespace hgc
