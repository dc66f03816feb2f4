// CIFAR-10/100 binary batches: fixed-size records read whole, the CHW image bytes moved to
// HWC on the host.
#include "hgc/frontend/gluon/data/vision/cifar.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hgc/base/error.h"
#include "hgc/base/tensor.h"

namespace hgc::gluon::data::vision {
namespace {

std::string expand(const std::string& p) {
  if (p.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  return p;
}

// root/sub/name when root/sub exists, else root/name.
std::string in_root(const std::string& root, const std::string& sub, const std::string& name) {
  std::filesystem::path r(expand(root));
  if (std::filesystem::is_directory(r / sub)) return (r / sub / name).string();
  return (r / name).string();
}

}  // namespace

CIFAR10::CIFAR10(const std::string& root, bool train) {
  std::vector<std::string> files;
  if (train)
    for (int i = 1; i <= 5; ++i) files.push_back(in_root(root, "cifar-10-batches-bin", "data_batch_" + std::to_string(i) + ".bin"));
  else
    files.push_back(in_root(root, "cifar-10-batches-bin", "test_batch.bin"));
  load(files, 1, 0);
}

CIFAR100::CIFAR100(const std::string& root, bool fine_label, bool train) : CIFAR10(NoLoad{}) {
  load({in_root(root, "cifar-100-binary", train ? "train.bin" : "test.bin")}, 2, fine_label ? 1 : 0);
}

void CIFAR10::load(const std::vector<std::string>& files, int label_bytes, int label_index) {
  const int64_t rec = 3072 + label_bytes;
  std::vector<std::string> bytes;
  int64_t n = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) fail("data", "CIFAR: cannot open ", f, " (nothing is downloaded: put the binary batches there)");
    std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (b.empty() || int64_t(b.size()) % rec)
      fail("data", "CIFAR: ", f, " has ", b.size(), " bytes, not a multiple of the ", rec, "-byte record");
    n += int64_t(b.size()) / rec;
    bytes.push_back(std::move(b));
  }
  HostTensor img(DType::u8, {n, 32, 32, 3}), lab(DType::i32, {n});
  uint8_t* ip = img.data<uint8_t>();
  int32_t* lp = lab.data<int32_t>();
  int64_t k = 0;
  for (const auto& b : bytes) {
    auto* p = reinterpret_cast<const uint8_t*>(b.data());
    for (int64_t r = 0; r < int64_t(b.size()) / rec; ++r, ++k) {
      const uint8_t* q = p + r * rec;
      lp[k] = q[label_index];
      const uint8_t* px = q + label_bytes;
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 1024; ++i) ip[(k * 1024 + i) * 3 + c] = px[c * 1024 + i];
    }
  }
  images_ = nd::array(img);
  labels_ = nd::array(lab);
}

std::vector<NDArray> CIFAR10::get(int64_t i) const {
  if (i < 0 || i >= size()) fail("data", "CIFAR: sample ", i, " outside [0, ", size(), ")");
  return {images_[i], labels_.slice(i, i + 1)};
}

std::vector<NDArray> CIFAR10::batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices)
    if (i < 0 || i >= size()) fail("data", "CIFAR: sample ", i, " outside [0, ", size(), ")");
  std::vector<float> idx(indices.begin(), indices.end());
  NDArray ix = nd::array(idx, {int64_t(idx.size())});
  return {nd::take(images_, ix, 0), nd::take(labels_, ix, 0)};
}

}  // namespace hgc::gluon::data::vision
