#include "hgc/runtime/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace hgc {

std::size_t checked_nbytes(DType dtype, const std::vector<int64_t>& shape,
                           const std::string& component, const std::string& what) {
  std::size_t esize = dtype_size(dtype);
  if (esize == 0) fail(component, what, ": unknown dtype");
  unsigned __int128 n = esize;
  for (int64_t d : shape) {
    if (d < 0) fail(component, what, ": negative dimension ", d);
    n *= static_cast<unsigned __int128>(d);
    if (n > std::numeric_limits<int64_t>::max()) fail(component, what, ": size overflows");
  }
  return static_cast<std::size_t>(n);
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  nbytes_ = checked_nbytes(dtype_, shape_, "runtime", "tensor");
  std::size_t alloc = (nbytes_ + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, alloc ? alloc : kAlignment);
  if (!p) fail("runtime", "out of memory allocating ", nbytes_, " bytes");
  std::memset(p, 0, alloc ? alloc : kAlignment);
  storage_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::string HostTensor::describe() const {
  std::string s = "(";
  for (size_t i = 0; i < shape_.size(); ++i) s += (i ? ", " : "") + std::to_string(shape_[i]);
  if (shape_.size() == 1) s += ",";
  return s + ") " + dtype_name(dtype_);
}

}  // namespace hgc
