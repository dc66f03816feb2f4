#include "hgc/base/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "hgc/base/allocator.h"

namespace hgc {

namespace {
// Large tensors (a training step's activations and gradients) come from the caching
// allocator: malloc serves them with fresh mmaps, so every step paid page faults, zeroing
// by the kernel and munmap for each one (a quarter of a MultiVAE step). Small ones stay with
// malloc, which reuses them well. Under AddressSanitizer every tensor is a fresh allocation
// so use-after-free stays detectable.
bool pooled(std::size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#endif
#endif
  return bytes >= (std::size_t(256) << 10);
}
}  // namespace

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

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape) : HostTensor(dtype, std::move(shape), true) {}

HostTensor HostTensor::uninitialized(DType dtype, std::vector<int64_t> shape) {
  return HostTensor(dtype, std::move(shape), false);
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape, bool zero)
    : dtype_(dtype), shape_(std::move(shape)) {
  nbytes_ = checked_nbytes(dtype_, shape_, "runtime", "tensor");
  std::size_t alloc = (nbytes_ + kAlignment - 1) / kAlignment * kAlignment;
  if (!alloc) alloc = kAlignment;
  void* p;
  if (pooled(alloc)) {
    p = CachingAllocator::global().allocate(alloc);
    storage_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                        [alloc](uint8_t* q) { CachingAllocator::global().release(q, alloc); });
  } else {
    p = std::aligned_alloc(kAlignment, alloc);
    if (!p) fail("runtime", "out of memory allocating ", nbytes_, " bytes");
    storage_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
  }
  if (zero) std::memset(p, 0, alloc);
}

HostTensor HostTensor::reshaped(std::vector<int64_t> shape) const {
  HostTensor t = *this;
  t.shape_ = std::move(shape);
  if (checked_nbytes(dtype_, t.shape_, "runtime", "reshape") != nbytes_)
    fail("runtime", "cannot view ", describe(), " as ", t.describe(), ": element counts differ");
  return t;
}

HostTensor HostTensor::slice0(int64_t begin, int64_t end) const {
  if (shape_.empty()) fail("runtime", "cannot slice the 0-d tensor ", describe(), " along dim 0");
  if (begin < 0 || end < begin || end > shape_[0])
    fail("runtime", "slice [", begin, ", ", end, ") is out of range for dim 0 of ", describe());
  std::vector<int64_t> row(shape_.begin() + 1, shape_.end());
  std::size_t row_bytes = checked_nbytes(dtype_, row, "runtime", "slice");
  HostTensor t = *this;
  t.shape_[0] = end - begin;
  t.nbytes_ = row_bytes * static_cast<std::size_t>(end - begin);
  // The aliasing constructor: the view keeps the whole allocation alive but points into it.
  t.storage_ = std::shared_ptr<uint8_t>(storage_, storage_.get() + row_bytes * static_cast<std::size_t>(begin));
  return t;
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
