// CIFAR-10 and CIFAR-100 (gluon.data.vision.CIFAR10/CIFAR100) from the local binary batch
// files; nothing is downloaded.
//
//   using namespace hgc::gluon::data;
//   vision::CIFAR10 train("/data/cifar10");          // /data/cifar10/cifar-10-batches-bin/data_batch_{1..5}.bin
//   auto s = train.get(0);                           // {image u8 (32, 32, 3) HWC, label i32 (1,)}
#pragma once
#include <string>

#include "hgc/frontend/gluon/data/data.h"

namespace hgc::gluon::data::vision {

// Records of 1 label byte + 3072 image bytes (3 x 32 x 32, channel-major), read from
// root/cifar-10-batches-bin/ (or root itself): data_batch_1..5.bin for train, test_batch.bin
// otherwise. Images come out HWC as Gluon's do.
class CIFAR10 : public Dataset {
 public:
  explicit CIFAR10(const std::string& root = "~/.mxnet/datasets/cifar10", bool train = true);
  int64_t size() const override { return labels_.shape()[0]; }
  std::vector<NDArray> get(int64_t i) const override;
  std::vector<NDArray> batch(const std::vector<int64_t>& indices) const override;
  const NDArray& images() const { return images_; }
  const NDArray& labels() const { return labels_; }

 protected:
  struct NoLoad {};
  explicit CIFAR10(NoLoad) {}
  // Reads `files` (records of `label_bytes` label bytes, the label_index'th kept, + 3072).
  void load(const std::vector<std::string>& files, int label_bytes, int label_index);
  NDArray images_, labels_;
};

// Records of 2 label bytes (coarse, fine) + 3072 image bytes in root/cifar-100-binary/ (or
// root): train.bin or test.bin; fine_label picks the 100 fine classes (else the 20 coarse).
class CIFAR100 : public CIFAR10 {
 public:
  explicit CIFAR100(const std::string& root = "~/.mxnet/datasets/cifar100", bool fine_label = false, bool train = true);
};

}  // namespace hgc::gluon::data::vision
