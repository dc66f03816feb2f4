// Whole-file helpers that fail with hgc::Error naming the path.
//
//   std::string text = read_file("model.json", "json");
//   write_file_atomic("out.json", text, "json");   // temp file + rename: all or nothing
#pragma once
#include <string>

namespace hgc {

std::string read_file(const std::string& path, const std::string& component);
void write_file_atomic(const std::string& path, const std::string& bytes,
                       const std::string& component);

}  // namespace hgc
