// A dense host tensor with 64-byte aligned storage: what file readers return and what the
// runtime binds to kernel arguments.
//
//   HostTensor t(DType::f32, {2, 3});
//   t.data<float>()[0] = 1.f;   t.nbytes() == 24
//   HostTensor row = t.slice0(1, 2);    // rows [1, 2) of dim 0, same storage: (1, 3)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hgc/base/dtype.h"
#include "hgc/base/error.h"

namespace hgc {

class HostTensor {
 public:
  static constexpr std::size_t kAlignment = 64;

  HostTensor() = default;
  // Zero-filled. Throws hgc::Error on negative dims or sizes past `max_bytes`.
  HostTensor(DType dtype, std::vector<int64_t> shape);
  // Contents unspecified: for storage that is written in full before it is read (the outputs
  // of an executable's steps and of kernel invokes). Large ones are recycled blocks of the
  // caching allocator, so neither page faults nor zeroing.
  static HostTensor uninitialized(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  std::size_t nbytes() const { return nbytes_; }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }
  template <typename T>
  T* data() { return static_cast<T*>(raw()); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(raw()); }
  bool defined() const { return dtype_ != DType::unknown; }
  // The same storage seen with another shape of the same element count (no copy).
  HostTensor reshaped(std::vector<int64_t> shape) const;
  // Rows [begin, end) of dim 0 as a view of the same storage (no copy): writes through
  // either show in the other. Row-major data makes such a range contiguous, so kernels take
  // it like any tensor; its start is aligned only to the element size, not kAlignment.
  // Throws hgc::Error on a 0-d tensor or a range outside [0, shape[0]].
  HostTensor slice0(int64_t begin, int64_t end) const;
  // True when both share storage (the same allocation, whatever part of it each sees).
  bool shares_storage(const HostTensor& o) const {
    return !storage_.owner_before(o.storage_) && !o.storage_.owner_before(storage_);
  }
  // "(2, 3) float32"
  std::string describe() const;

 private:
  DType dtype_ = DType::unknown;
  std::vector<int64_t> shape_;
  std::size_t nbytes_ = 0;
  std::shared_ptr<uint8_t> storage_;
  HostTensor(DType dtype, std::vector<int64_t> shape, bool zero);
};

// Checked element count x element size; throws hgc::Error (component, naming `what`) when
// a dim is negative or the product overflows.
std::size_t checked_nbytes(DType dtype, const std::vector<int64_t>& shape,
                           const std::string& component, const std::string& what);

}  // namespace hgc
