// gluon.utils file helpers: check_sha1 (is a file's SHA-1 the expected one) and replace_file
// (an atomic move over the destination), as used around downloads and checkpoints.
//
//   if (!gluon::utils::check_sha1("model.params", "a1b2...")) ...   // 40 hex digits
//   gluon::utils::replace_file("model.params.tmp", "model.params");
#pragma once
#include <string>

namespace hgc::gluon::utils {

// The SHA-1 digest of a byte string / of a file's contents, as 40 lowercase hex digits.
std::string sha1_hex(const std::string& bytes);
std::string sha1_file(const std::string& path);
// MXNet's check_sha1: whether the file's SHA-1 equals sha1_hash (hex, case-insensitive).
// Throws when the file cannot be read.
bool check_sha1(const std::string& filename, const std::string& sha1_hash);
// MXNet's replace_file: moves src over dst atomically (rename(2)); dst is replaced when it
// exists. Throws naming both paths on failure (src is left in place).
void replace_file(const std::string& src, const std::string& dst);

}  // namespace hgc::gluon::utils
