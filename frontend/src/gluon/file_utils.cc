// SHA-1 (FIPS 180-4) written out here: the digest is only used to check files, and this keeps
// the library free of a crypto dependency. replace_file is rename(2).
#include "hgc/frontend/gluon/file_utils.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "hgc/base/error.h"

namespace hgc::gluon::utils {
namespace {

class Sha1 {
 public:
  void update(const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      block_[fill_++] = p[i];
      if (fill_ == 64) compress(), fill_ = 0;
    }
    bytes_ += n;
  }
  std::string hex() {
    uint64_t bits = bytes_ * 8;
    unsigned char pad = 0x80;
    update(&pad, 1);
    unsigned char zero = 0;
    while (fill_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    char out[41];
    for (int i = 0; i < 5; ++i) std::snprintf(out + 8 * i, 9, "%08x", h_[i]);
    return std::string(out, 40);
  }

 private:
  static uint32_t rol(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  void compress() {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = uint32_t(block_[4 * i]) << 24 | uint32_t(block_[4 * i + 1]) << 16 | uint32_t(block_[4 * i + 2]) << 8 |
             uint32_t(block_[4 * i + 3]);
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5a827999;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ed9eba1;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
      else f = b ^ c ^ d, k = 0xca62c1d6;
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e;
  }
  std::array<uint32_t, 5> h_{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  unsigned char block_[64];
  size_t fill_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

std::string sha1_hex(const std::string& bytes) {
  Sha1 s;
  s.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return s.hex();
}

std::string sha1_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("utils", "sha1: cannot open '", path, "'");
  Sha1 s;
  std::array<char, 1 << 16> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    s.update(reinterpret_cast<const unsigned char*>(buf.data()), size_t(in.gcount()));
  }
  if (in.bad()) fail("utils", "sha1: error reading '", path, "'");
  return s.hex();
}

bool check_sha1(const std::string& filename, const std::string& sha1_hash) {
  std::string want = sha1_hash;
  std::transform(want.begin(), want.end(), want.begin(), [](unsigned char c) { return std::tolower(c); });
  return sha1_file(filename) == want;
}

void replace_file(const std::string& src, const std::string& dst) {
  if (std::rename(src.c_str(), dst.c_str()) != 0)
    fail("utils", "replace_file: cannot move '", src, "' over '", dst, "': ", std::strerror(errno));
}

}  // namespace hgc::gluon::utils
