// Bounds-checked little-endian reader over a byte string; every read names the file and
// offset on failure, so truncated or hostile files never read past the end.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "hgc/base/error.h"

namespace hgc {

class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string origin, std::string component)
      : b_(bytes), origin_(std::move(origin)), component_(std::move(component)) {}

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // Checks that `n` more bytes exist before anyone allocates for them.
  void need(uint64_t n, const char* what) const {
    if (n > b_.size() - pos_)
      fail(component_, origin_, ": truncated at offset ", pos_, ": expected ", n, " bytes of ",
           what, ", ", b_.size() - pos_, " left");
  }
  const char* take(uint64_t n, const char* what) {
    need(n, what);
    const char* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[noreturn]] void error(const std::string& msg) const {
    fail(component_, origin_, ": at offset ", pos_, ": ", msg);
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return b_.size() - pos_; }

 private:
  std::string_view b_;  // the caller's bytes: they outlive the reader
  size_t pos_ = 0;
  std::string origin_, component_;
};

}  // namespace hgc
