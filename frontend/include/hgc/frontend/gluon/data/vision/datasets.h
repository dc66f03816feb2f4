// Vision datasets (gluon.data.vision.datasets) read from local files only: nothing is
// downloaded. MNIST and FashionMNIST read the four IDX files (plain or .gz) of a directory.
//
//   using namespace hgc::gluon::data;
//   auto train = std::make_shared<vision::FashionMNIST>();          // Debian's dataset-fashion-mnist
//   auto test = std::make_shared<vision::FashionMNIST>(vision::FashionMNIST::default_root(), false);
//   auto s = train->get(0);              // {image u8 (28, 28, 1), label i32 (1,)}, as Gluon's (HWC, int32)
//   DataLoader loader(train->transform_first(transforms::ToTensor()), DataLoaderOptions(64).shuffle(true));
#pragma once
#include <string>

#include "hgc/frontend/gluon/data/data.h"

namespace hgc::gluon::data::vision {

// gluon.data.vision.MNIST(root, train): train-{images-idx3,labels-idx1}-ubyte or t10k-* in
// `root`, each optionally gzip'd. Samples: image (28, 28, 1) uint8, label (1,) int32; batch()
// gathers whole batches (image (B, 28, 28, 1), label (B,)). Throws naming the missing file.
class MNIST : public Dataset {
 public:
  explicit MNIST(const std::string& root = default_root(), bool train = true);
  // Where Debian would put MNIST; this project installs only Fashion-MNIST (FashionMNIST's root).
  static std::string default_root() { return "/usr/share/datasets/mnist"; }
  int64_t size() const override { return labels_.shape()[0]; }
  std::vector<NDArray> get(int64_t i) const override;
  std::vector<NDArray> batch(const std::vector<int64_t>& indices) const override;
  // The whole split: images (N, 28, 28, 1) uint8, labels (N,) int32.
  const NDArray& images() const { return images_; }
  const NDArray& labels() const { return labels_; }
  bool train() const { return train_; }

 protected:
  NDArray images_, labels_;
  bool train_;
};

// gluon.data.vision.FashionMNIST: MNIST's format and sample layout, Zalando's images.
class FashionMNIST : public MNIST {
 public:
  explicit FashionMNIST(const std::string& root = default_root(), bool train = true) : MNIST(root, train) {}
  static std::string default_root() { return "/usr/share/datasets/fashion-mnist"; }
  // Fashion-MNIST's class names, by label.
  static const std::vector<std::string>& class_names();
};

// Whether the four IDX files of a split are in `root` (plain or .gz).
bool mnist_files_present(const std::string& root);

}  // namespace hgc::gluon::data::vision
