// MNIST-format datasets over the IDX reader; the arrays are read once and batches are one
// gather per field (nd::take), as ArrayDataset does.
#include "hgc/frontend/gluon/data/vision/datasets.h"

#include <filesystem>

#include "hgc/base/error.h"

namespace hgc::gluon::data::vision {
namespace {

std::string find(const std::string& root, const std::string& base) {
  for (const char* ext : {".gz", ""}) {
    std::string p = root + "/" + base + ext;
    if (std::filesystem::exists(p)) return p;
  }
  fail("data", "MNIST: no '", base, "' (or .gz) in '", root, "'; nothing is downloaded: install the files there",
       " (Debian: dataset-fashion-mnist for FashionMNIST)");
}

}  // namespace

bool mnist_files_present(const std::string& root) {
  for (const char* b : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                        "t10k-labels-idx1-ubyte"})
    if (!std::filesystem::exists(root + "/" + b + ".gz") && !std::filesystem::exists(root + "/" + b)) return false;
  return true;
}

MNIST::MNIST(const std::string& root, bool train) : train_(train) {
  std::string pre = train ? "train" : "t10k";
  NDArray im = read_idx(find(root, pre + "-images-idx3-ubyte"));
  NDArray lb = read_idx(find(root, pre + "-labels-idx1-ubyte"));
  if (im.ndim() != 3 || lb.ndim() != 1 || im.shape()[0] != lb.shape()[0])
    fail("data", "MNIST: images ", im.ndim(), "-D and labels ", lb.ndim(), "-D in '", root, "' do not pair up");
  images_ = im.reshape({im.shape()[0], im.shape()[1], im.shape()[2], 1});
  labels_ = lb.astype(DType::i32);
}

std::vector<NDArray> MNIST::get(int64_t i) const {
  if (i < 0 || i >= size()) fail("data", "MNIST: sample ", i, " outside [0, ", size(), ")");
  return {images_[i], labels_.slice(i, i + 1)};
}

std::vector<NDArray> MNIST::batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices)
    if (i < 0 || i >= size()) fail("data", "MNIST: sample ", i, " outside [0, ", size(), ")");
  std::vector<float> idx(indices.begin(), indices.end());
  NDArray ix = nd::array(idx, {static_cast<int64_t>(idx.size())});
  return {nd::take(images_, ix, 0), nd::take(labels_, ix, 0)};
}

const std::vector<std::string>& FashionMNIST::class_names() {
  static const std::vector<std::string> names = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
  return names;
}

}  // namespace hgc::gluon::data::vision
