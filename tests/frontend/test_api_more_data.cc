// data_more.h and vision/cifar.h: SimpleDataset, FilterSampler, RecordIO round trips (with a
// payload holding the magic, split and joined as dmlc does) and CIFAR binaries written here.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "hgc/frontend/gluon/data/data_more.h"
#include "hgc/frontend/gluon/data/vision/cifar.h"

using namespace hgc;
using namespace hgc::gluon;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("hgc_api_more_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
std::string bytes(std::initializer_list<uint32_t> words) {
  std::string s(words.size() * 4, '\0');
  size_t i = 0;
  for (uint32_t w : words) std::memcpy(s.data() + 4 * i++, &w, 4);
  return s;
}
}  // namespace

TEST_CASE("data: SimpleDataset and FilterSampler") {
  auto ds = std::make_shared<data::SimpleDataset>(std::vector<std::vector<NDArray>>{
      {nd::array({1}), nd::array({0})}, {nd::array({2}), nd::array({1})}, {nd::array({3}), nd::array({1})}});
  CHECK(ds->size() == 3);
  CHECK(ds->get(1)[0].asscalar<float>() == 2);
  CHECK_THROWS_AS(ds->get(3), Error);
  data::FilterSampler pos([](const std::vector<NDArray>& s) { return s[1].asscalar<float>() > 0; }, ds);
  CHECK(pos.epoch() == std::vector<int64_t>{1, 2});
  CHECK(pos.length() == 2);
  CHECK_THROWS_AS(data::FilterSampler(nullptr, ds), Error);
}

TEST_CASE("data: RecordIO format, RecordFileDataset") {
  fs::path d = temp_dir("rec");
  std::string rec = (d / "data.rec").string(), idx = (d / "data.idx").string();
  std::string with_magic = "ab" + std::string(2, 'x') + bytes({0xced7230a}) + "tail!";  // magic at offset 4
  {
    data::MXIndexedRecordIO w(idx, rec, "w");
    w.write_idx(10, "hello");
    w.write_idx(20, with_magic);
    w.write_idx(30, "");
  }
  // Byte layout of the first record: magic, length 5 (cflag 0), "hello", 3 bytes of padding.
  std::ifstream in(rec, std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(raw.substr(0, 8) == bytes({0xced7230a, 5}));
  CHECK(raw.substr(8, 8) == std::string("hello\0\0\0", 8));
  // The second: split at the magic: part 1 (cflag 1, 4 bytes), part 3 (cflag 3, 5 bytes).
  CHECK(raw.substr(16, 8) == bytes({0xced7230a, (1u << 29) | 4}));
  CHECK(raw.substr(28, 8) == bytes({0xced7230a, (3u << 29) | 5}));
  std::ifstream ii(idx);
  std::string l1, l2;
  std::getline(ii, l1), std::getline(ii, l2);
  CHECK(l1 == "10\t0");
  CHECK(l2 == "20\t16");

  data::RecordFileDataset ds(rec);
  REQUIRE(ds.size() == 3);
  CHECK(ds.record(0) == "hello");
  CHECK(ds.record(1) == with_magic);
  CHECK(ds.record(2).empty());
  NDArray b = ds.get(0)[0];
  CHECK(b.dtype() == DType::u8);
  CHECK(b.shape() == std::vector<int64_t>{5});
  CHECK(b.to_vector<uint8_t>()[1] == 'e');
  data::MXRecordIO seq(rec, "r");
  std::string r;
  int n = 0;
  while (seq.read(r)) ++n;
  CHECK(n == 3);
  CHECK_THROWS_AS(data::RecordFileDataset((d / "missing.rec").string()), Error);
  CHECK_THROWS_AS(data::MXRecordIO(rec, "a"), Error);
  {
    std::ofstream bad(d / "bad.rec", std::ios::binary);
    bad << "not a record file";
    std::ofstream bi(d / "bad.idx");
    bi << "0\t0\n";
  }
  CHECK_THROWS_AS(data::RecordFileDataset((d / "bad.rec").string()).record(0), Error);
  fs::remove_all(d);
}

TEST_CASE("data.vision: CIFAR10 / CIFAR100 from binary batches") {
  fs::path d = temp_dir("cifar");
  fs::create_directories(d / "cifar-10-batches-bin");
  auto record = [](std::initializer_list<uint8_t> labels, uint8_t base) {
    std::string s(labels.begin(), labels.end());
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 1024; ++i) s.push_back(char(uint8_t(base + c * 10 + (i % 7))));
    return s;
  };
  for (int b = 1; b <= 5; ++b) {
    std::ofstream f(d / "cifar-10-batches-bin" / ("data_batch_" + std::to_string(b) + ".bin"), std::ios::binary);
    f << record({uint8_t(b)}, uint8_t(b)) << record({uint8_t(b + 1)}, 100);
  }
  std::ofstream(d / "cifar-10-batches-bin" / "test_batch.bin", std::ios::binary) << record({9}, 50);
  data::vision::CIFAR10 train(d.string());
  REQUIRE(train.size() == 10);
  auto s = train.get(4);  // batch 3, first record
  CHECK(s[0].shape() == std::vector<int64_t>{32, 32, 3});
  CHECK(s[0].dtype() == DType::u8);
  CHECK(s[1].to_vector<int32_t>() == std::vector<int32_t>{3});
  std::vector<uint8_t> px = s[0].to_vector<uint8_t>();
  // HWC: pixel (0, 1) channels = base + c*10 + 1
  CHECK(int(px[3]) == 4);
  CHECK(int(px[4]) == 14);
  CHECK(int(px[5]) == 24);
  auto bt = train.batch({0, 9});
  CHECK(bt[1].to_vector<int32_t>() == std::vector<int32_t>{1, 6});
  CHECK(data::vision::CIFAR10(d.string(), false).size() == 1);

  fs::create_directories(d / "c100");
  std::ofstream(d / "c100" / "train.bin", std::ios::binary) << record({3, 42}, 0) << record({4, 77}, 0);
  data::vision::CIFAR100 coarse((d / "c100").string()), fine((d / "c100").string(), true);
  CHECK(coarse.labels().to_vector<int32_t>() == std::vector<int32_t>{3, 4});
  CHECK(fine.labels().to_vector<int32_t>() == std::vector<int32_t>{42, 77});
  {
    std::ofstream(d / "c100" / "test.bin", std::ios::binary) << "short";
  }
  CHECK_THROWS_AS(data::vision::CIFAR100((d / "c100").string(), true, false), Error);
  CHECK_THROWS_AS(data::vision::CIFAR10((d / "nothing").string()), Error);
  fs::remove_all(d);
}
