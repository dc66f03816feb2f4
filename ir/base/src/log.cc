#include "hgc/base/log.h"

#include <cstdio>
#include <cstdlib>

namespace hgc {

bool log_enabled(std::string_view topic) {
  static const std::string topics = [] {
    const char* v = std::getenv("HGC_LOG");
    return "," + std::string(v ? v : "") + ",";
  }();
  return topics.find("," + std::string(topic) + ",") != std::string::npos || topics.find(",all,") != std::string::npos;
}

void log_line(const std::string& text) {
  std::string line = "[hgc] " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace hgc
