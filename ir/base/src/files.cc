#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "hgc/base/error.h"
#include "hgc/base/files.h"

namespace hgc {

std::string read_file(const std::string& path, const std::string& component) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(component, path, ": cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(component, path, ": read error");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes,
                       const std::string& component) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail(component, path, ": cannot write file");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      fail(component, path, ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(component, path, ": cannot replace file");
  }
}

}  // namespace hgc
