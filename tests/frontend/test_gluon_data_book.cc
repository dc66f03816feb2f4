// The gluon.data pieces the book's chapters use: samplers (sequential, random, batch with
// keep/discard/rollover), DataLoader with sampler / batch_sampler / batchify_fn,
// Dataset.transform/transform_first, the MNIST-format dataset classes on a hand-written IDX
// pair (and Debian's Fashion-MNIST when installed), and the image transforms against values
// worked out by hand.
#include <doctest/doctest.h>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <set>

#include "hgc/base/error.h"
#include "hgc/hgc.h"

using namespace hgc;
using namespace hgc::gluon;
using namespace hgc::gluon::data;

namespace {
void write_idx(const std::string& path, unsigned char type, const std::vector<uint32_t>& dims,
               const std::vector<unsigned char>& bytes) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) s += {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
  s.append(bytes.begin(), bytes.end());
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, s.data(), static_cast<unsigned>(s.size()));
  gzclose(f);
}
}  // namespace

TEST_CASE("samplers: sequential, random permutations, batches with keep/discard/rollover") {
  SequentialSampler seq(5, 2);
  CHECK(seq.epoch() == std::vector<int64_t>{2, 3, 4, 5, 6});
  RandomSampler rnd(10, 7);
  auto a = rnd.epoch(), b = rnd.epoch();
  auto sa = a;
  std::sort(sa.begin(), sa.end());
  std::vector<int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  CHECK(sa == all);
  CHECK(a != b);  // a new permutation per epoch
  BatchSampler keep(std::make_shared<SequentialSampler>(10), 3, "keep");
  CHECK(keep.length() == 4);
  auto kb = keep.epoch();
  REQUIRE(kb.size() == 4);
  CHECK(kb[3] == std::vector<int64_t>{9});
  BatchSampler discard(std::make_shared<SequentialSampler>(10), 3, "discard");
  CHECK(discard.epoch().size() == 3);
  BatchSampler roll(std::make_shared<SequentialSampler>(10), 3, "rollover");
  CHECK(roll.epoch().size() == 3);
  auto second = roll.epoch();  // 9 carried over to the front
  CHECK(second[0] == std::vector<int64_t>{9, 0, 1});
  CHECK_THROWS_AS(BatchSampler(std::make_shared<SequentialSampler>(3), 0), Error);
  CHECK_THROWS_AS(BatchSampler(std::make_shared<SequentialSampler>(3), 2, "drop"), Error);
}

TEST_CASE("DataLoader: sampler, batch_sampler and batchify_fn") {
  NDArray x = nd::arange(0, 12).reshape({6, 2}), y = nd::arange(0, 6);
  auto ds = std::make_shared<ArrayDataset>(std::vector<NDArray>{x, y});
  DataLoader rev(ds, DataLoaderOptions(2).sampler(std::make_shared<SequentialSampler>(3, 3)));
  std::vector<float> seen;
  for (const auto& b : rev)
    for (float v : b[1].to_vector<float>()) seen.push_back(v);
  CHECK(seen == std::vector<float>{3, 4, 5});
  DataLoader bs(ds, DataLoaderOptions().batch_sampler(std::make_shared<BatchSampler>(std::make_shared<SequentialSampler>(6), 4, "keep")));
  CHECK(bs.num_batches() == 2);
  int n = 0;
  for (const auto& b : bs) n += static_cast<int>(b[0].shape()[0]);
  CHECK(n == 6);
  int calls = 0;
  DataLoader custom(ds, DataLoaderOptions(3).batchify_fn([&](const std::vector<std::vector<NDArray>>& samples) {
    ++calls;
    auto out = default_batchify_fn(samples);
    out.push_back(nd::full({1}, double(samples.size())));
    return out;
  }));
  for (const auto& b : custom) {
    CHECK(b.size() == 3);
    CHECK(b[0].shape() == std::vector<int64_t>{3, 2});
    CHECK(b[1].shape() == std::vector<int64_t>{3});  // (1,) scalars join into (B,)
    CHECK(b[2].asscalar<float>() == 3);
  }
  CHECK(calls == 2);
  CHECK_THROWS_AS(DataLoader(ds, DataLoaderOptions(2).shuffle(true).sampler(std::make_shared<SequentialSampler>(6))), Error);
  DataLoader bad(ds, DataLoaderOptions(2).sampler(std::make_shared<SequentialSampler>(3, 5)));
  CHECK_THROWS_AS(bad.begin(), Error);
}

TEST_CASE("DataLoader: a sampler's order sharded over parts, batchify_fn on each shard") {
  NDArray x = nd::arange(0, 20).reshape({10, 2}), y = nd::arange(0, 10);
  auto ds = std::make_shared<ArrayDataset>(std::vector<NDArray>{x, y});
  // Sampler order 2..9 (8 samples) dealt round-robin over 2 parts: 2 4 6 8 | 3 5 7 9.
  auto opts = [&](int64_t part) {
    return DataLoaderOptions(2)
        .sampler(std::make_shared<SequentialSampler>(8, 2))
        .shard(2, part)
        .batchify_fn([](const std::vector<std::vector<NDArray>>& samples) { return default_batchify_fn(samples); });
  };
  DataLoader p0(ds, opts(0)), p1(ds, opts(1));
  CHECK(p0.num_batches() == 2);
  std::vector<std::vector<float>> got0, got1;
  for (const auto& b : p0) {
    CHECK(b[0].shape() == std::vector<int64_t>{2, 2});
    got0.push_back(b[1].to_vector<float>());
  }
  for (const auto& b : p1) got1.push_back(b[1].to_vector<float>());
  CHECK(got0 == std::vector<std::vector<float>>{{2, 4}, {6, 8}});
  CHECK(got1 == std::vector<std::vector<float>>{{3, 5}, {7, 9}});
  // A random sampler with one seed on every part: disjoint shards covering floor(n/parts)*parts samples.
  std::set<float> all;
  for (int64_t part = 0; part < 3; ++part) {
    DataLoader l(ds, DataLoaderOptions(3).sampler(std::make_shared<RandomSampler>(10, 4)).shard(3, part));
    CHECK(l.num_batches() == 1);
    for (const auto& b : l)
      for (float v : b[1].to_vector<float>()) CHECK(all.insert(v).second);
  }
  CHECK(all.size() == 9);
  auto bs = std::make_shared<BatchSampler>(std::make_shared<SequentialSampler>(10), 2);
  CHECK_THROWS_WITH_AS(DataLoader(ds, DataLoaderOptions().batch_sampler(bs).shard(2, 0)),
                       doctest::Contains("batch_sampler is exclusive with shard"), Error);
}

TEST_CASE("Dataset.transform_first / transform") {
  NDArray x = nd::arange(0, 6).reshape({3, 2}), y = nd::arange(0, 3);
  std::shared_ptr<Dataset> ds = std::make_shared<ArrayDataset>(std::vector<NDArray>{x, y});
  auto t = ds->transform_first([](const NDArray& a) { return a * 10.0; });
  CHECK(t->get(1)[0].to_vector<float>() == std::vector<float>{20, 30});
  CHECK(t->get(1)[1].to_vector<float>() == std::vector<float>{1});
  auto both = ds->transform([](const std::vector<NDArray>& s) { return std::vector<NDArray>{s[0] + 1.0, s[1] * 2.0}; });
  auto b = both->batch({0, 2});
  CHECK(b[0].to_vector<float>() == std::vector<float>{1, 2, 5, 6});
  CHECK(b[1].to_vector<float>() == std::vector<float>{0, 4});
}

TEST_CASE("vision::MNIST reads an IDX pair; missing files are a clear error") {
  auto dir = std::filesystem::temp_directory_path() / "hgc_test_mnist";
  std::filesystem::create_directories(dir);
  std::vector<unsigned char> pix(3 * 2 * 2);
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = static_cast<unsigned char>(i * 10);
  for (const char* split : {"train", "t10k"}) {
    write_idx((dir / (std::string(split) + "-images-idx3-ubyte.gz")).string(), 0x08, {3, 2, 2}, pix);
    write_idx((dir / (std::string(split) + "-labels-idx1-ubyte.gz")).string(), 0x08, {3}, {7, 1, 4});
  }
  vision::MNIST ds(dir.string(), false);
  CHECK(ds.size() == 3);
  auto s = ds.get(1);
  CHECK(s[0].shape() == std::vector<int64_t>{2, 2, 1});
  CHECK(s[0].dtype() == DType::u8);
  CHECK(s[0].to_vector<float>() == std::vector<float>{40, 50, 60, 70});
  CHECK(s[1].dtype() == DType::i32);
  CHECK(s[1].to_vector<float>() == std::vector<float>{1});
  auto b = ds.batch({2, 0});
  CHECK(b[1].to_vector<float>() == std::vector<float>{4, 7});
  CHECK_THROWS_AS(ds.get(3), Error);
  CHECK(vision::mnist_files_present(dir.string()));
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH_AS(vision::FashionMNIST("/nonexistent/dir"), doctest::Contains("nothing is downloaded"), Error);
  if (vision::mnist_files_present(vision::FashionMNIST::default_root())) {
    vision::FashionMNIST train;
    CHECK(train.size() == 60000);
    CHECK(train.get(0)[0].shape() == std::vector<int64_t>{28, 28, 1});
  } else {
    MESSAGE("Fashion-MNIST not installed: the real-data part is skipped");
  }
}

TEST_CASE("image transforms: resize, crops, flips, color jitter, cast") {
  // A 2x2 single-channel image upsampled to 4x4 (bilinear, centers aligned: OpenCV's rule).
  NDArray img = nd::array({0, 100, 200, 100}, {2, 2, 1});
  NDArray r = transforms::Resize(4)(img);
  REQUIRE(r.shape() == std::vector<int64_t>{4, 4, 1});
  auto rv = r.to_vector<float>();
  CHECK(rv[0] == doctest::Approx(0));     // corner keeps its value
  CHECK(rv[1] == doctest::Approx(25));    // 1/4 of the way to 100
  CHECK(rv[5] == doctest::Approx(62.5));  // (1.25 * ... ) bilinear of the four
  CHECK(transforms::Resize({3, 5})(img).shape() == std::vector<int64_t>{5, 3, 1});  // (width, height)
  // Center crop of a 4x4 ramp.
  NDArray ramp = nd::arange(16).reshape({4, 4, 1});
  CHECK(transforms::CenterCrop(2)(ramp).to_vector<float>() == std::vector<float>{5, 6, 9, 10});
  // u8 stays u8 and rounds.
  NDArray u8 = nd::array({0, 255, 255, 0}, {2, 2, 1}, DType::u8);
  NDArray ru = transforms::Resize(3)(u8);
  CHECK(ru.dtype() == DType::u8);
  // Flips: a batch of many copies; about half flipped, each exactly mirrored or unchanged.
  nd::random::seed(3);
  NDArray row = nd::array({1, 2, 3}, {1, 3, 1});
  NDArray batch = nd::broadcast_to(row.reshape({1, 1, 3, 1}), {200, 1, 3, 1});
  auto f = transforms::RandomFlipLeftRight()(batch).to_vector<float>();
  int flipped = 0;
  for (int i = 0; i < 200; ++i) {
    bool same = f[i * 3] == 1 && f[i * 3 + 2] == 3, mirror = f[i * 3] == 3 && f[i * 3 + 2] == 1;
    CHECK((same || mirror));
    flipped += mirror;
  }
  CHECK(flipped > 70);
  CHECK(flipped < 130);
  // Brightness scales by alpha in [1 - b, 1 + b]; contrast keeps the mean gray; saturation 0
  // of a gray image changes nothing.
  NDArray gray = nd::full({4, 4, 3}, 100.0);
  auto bv = transforms::RandomBrightness(0.5)(gray).to_vector<float>();
  CHECK(bv[0] >= 50);
  CHECK(bv[0] <= 150);
  CHECK(bv[0] == bv[47]);
  NDArray pic = nd::random::uniform(0, 255, {8, 8, 3});
  NDArray c = transforms::RandomContrast(0.9)(pic);
  auto luma = [](const NDArray& x) {
    auto v = x.to_vector<float>();
    double s = 0;
    for (size_t p = 0; p < v.size(); p += 3) s += 0.299 * v[p] + 0.587 * v[p + 1] + 0.114 * v[p + 2];
    return s / (v.size() / 3);
  };
  CHECK(luma(c) == doctest::Approx(luma(pic)).epsilon(1e-3));
  CHECK(nd::max(nd::abs(transforms::RandomSaturation(0.7)(gray) - gray)).asscalar<float>() < 1e-3);
  // Hue jitter alone rotates hue only: each pixel's lightness and chroma stay.
  {
    auto v0 = pic.to_vector<float>(), v1 = transforms::RandomColorJitter(0, 0, 0, 0.3)(pic).to_vector<float>();
    for (size_t p = 0; p < v0.size(); p += 3) {
      float a = std::max({v0[p], v0[p + 1], v0[p + 2]}), b = std::min({v0[p], v0[p + 1], v0[p + 2]});
      float c2 = std::max({v1[p], v1[p + 1], v1[p + 2]}), d = std::min({v1[p], v1[p + 1], v1[p + 2]});
      CHECK(a + b == doctest::Approx(c2 + d).epsilon(1e-3));
      CHECK(a - b == doctest::Approx(c2 - d).epsilon(1e-3));
    }
  }
  CHECK_THROWS_AS(transforms::RandomColorJitter(0.1, 0.1, 0.1, -0.1), Error);
  CHECK(transforms::RandomColorJitter(0.2, 0.2, 0.2)(pic).shape() == pic.shape());
  // RandomResizedCrop: output size fixed, values drawn from the input's range.
  NDArray rc = transforms::RandomResizedCrop(5)(ramp);
  CHECK(rc.shape() == std::vector<int64_t>{5, 5, 1});
  CHECK(nd::max(rc).asscalar<float>() <= 15);
  CHECK(transforms::Cast(DType::f64)(u8).dtype() == DType::f64);
  CHECK_THROWS_AS(transforms::Resize(4)(nd::ones({4, 4})), Error);
}
