// Data tools: ToTensor / Normalize / Compose on samples and batches against per-element
// computations, TransformDataset through a DataLoader, and the progress bar's plain (non
// terminal) and in-place output.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "hgc/hgc.h"
#include "hgc/base/error.h"

using namespace hgc;
using namespace hgc::gluon;
using namespace hgc::gluon::data;

namespace {
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> r;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) r.push_back(l);
  return r;
}
}  // namespace

TEST_CASE("transforms: ToTensor moves channels first and scales to [0, 1]; Normalize per channel") {
  // (H, W, C) = (2, 2, 3), values 0, 20, ..., 220 as u8
  std::vector<float> v;
  for (int i = 0; i < 12; ++i) v.push_back(20.f * i);
  NDArray img = nd::array(v, {2, 2, 3}, DType::u8);
  NDArray t = transforms::ToTensor()(img);
  REQUIRE(t.shape() == std::vector<int64_t>{3, 2, 2});
  CHECK(t.dtype() == DType::f32);
  std::vector<float> got = t.to_vector<float>(), want;
  for (int c = 0; c < 3; ++c)
    for (int hw = 0; hw < 4; ++hw) want.push_back(v[hw * 3 + c] / 255.f);
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]));

  NDArray batch = nd::stack({img, img}, 0);  // (N, H, W, C)
  NDArray tb = transforms::ToTensor()(batch);
  CHECK(tb.shape() == std::vector<int64_t>{2, 3, 2, 2});
  CHECK(tb[1].to_vector<float>() == got);

  NDArray n = transforms::Normalize({0.1, 0.2, 0.3}, {1, 2, 4})(tb);
  std::vector<float> nv = n.to_vector<float>();
  double mean[] = {0.1, 0.2, 0.3}, sd[] = {1, 2, 4};
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int hw = 0; hw < 4; ++hw)
        CHECK(nv[(b * 3 + c) * 4 + hw] == doctest::Approx((want[c * 4 + hw] - mean[c]) / sd[c]));
  NDArray one = transforms::Normalize({0.5}, {0.25})(t);
  CHECK(one.to_vector<float>()[5] == doctest::Approx((want[5] - 0.5) / 0.25));

  transforms::Compose both({transforms::ToTensor(), transforms::Normalize({0.5}, {0.5})});
  CHECK(both(img).to_vector<float>()[0] == doctest::Approx(-1));  // 0 -> 0 -> -1

  CHECK_THROWS_WITH_AS(transforms::ToTensor()(nd::zeros({28, 28})), doctest::Contains("(H, W, C)"), hgc::Error);
  CHECK_THROWS_WITH_AS(transforms::Normalize({0.1, 0.2}, {1})(t), doctest::Contains("2 mean values for 3 channels"),
                       hgc::Error);
  CHECK_THROWS_WITH_AS(transforms::Normalize({0.1}, {0}), doctest::Contains("std must not be 0"), hgc::Error);
}

TEST_CASE("transforms: TransformDataset applies to one field per sample and per batch") {
  NDArray images = nd::arange(0, 20).reshape({5, 2, 2, 1}).astype(DType::u8);
  NDArray labels = nd::arange(0, 5);
  auto raw = std::make_shared<ArrayDataset>(std::vector<NDArray>{images, labels});
  auto ds = std::make_shared<TransformDataset>(raw, transforms::ToTensor());
  CHECK(ds->size() == 5);
  std::vector<NDArray> s = ds->get(1);
  CHECK(s[0].shape() == std::vector<int64_t>{1, 2, 2});
  CHECK(s[0].to_vector<float>()[3] == doctest::Approx(7 / 255.0));
  DataLoader loader(ds, DataLoaderOptions(2).last_batch("discard"));
  size_t batches = 0;
  for (const auto& b : loader) {
    CHECK(b[0].shape() == std::vector<int64_t>{2, 1, 2, 2});
    CHECK(b[0].dtype() == DType::f32);
    CHECK(b[1].dtype() == DType::f32);  // labels untouched
    CHECK(b[0].to_vector<float>()[0] == doctest::Approx(b[1].to_vector<float>()[0] * 4 / 255));
    ++batches;
  }
  CHECK(batches == 2);
  CHECK_THROWS_WITH_AS(TransformDataset(raw, transforms::ToTensor(), 2).get(0), doctest::Contains("field 2"),
                       hgc::Error);
}

TEST_CASE("progress: plain output prints a line every total/lines batches, with rate and postfix") {
  std::ostringstream os;
  {
    utils::ProgressBar bar(20, utils::ProgressOptions().desc("epoch 1/2").out(os).terminal(false).lines(4));
    CHECK_FALSE(bar.terminal());
    for (int i = 0; i < 20; ++i) {
      bar.set_postfix({{"loss", 1.0 / (i + 1)}, {"acc", 0.5}});
      bar.update(1, 8);
    }
    CHECK(bar.count() == 20);
  }  // the destructor closes: the last line was already printed at 20/20
  std::string out = os.str();
  CHECK(out.find('\r') == std::string::npos);
  std::vector<std::string> lines = split_lines(out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("epoch 1/2 |#####---------------| 5/20 [", 0) == 0);
  CHECK(lines[0].find(" items/s] loss=0.2 acc=0.5") != std::string::npos);
  CHECK(lines[1].find("| 10/20 [") != std::string::npos);
  CHECK(lines[3].rfind("epoch 1/2 |####################| 20/20 [", 0) == 0);
  CHECK(lines[3].find("loss=0.05 ") != std::string::npos);

  std::ostringstream unknown;
  utils::ProgressBar open_ended(0, utils::ProgressOptions().out(unknown).terminal(false).every(3));
  for (int i = 0; i < 7; ++i) open_ended.update();
  open_ended.close();
  open_ended.close();  // once only
  lines = split_lines(unknown.str());
  REQUIRE(lines.size() == 3);  // at 3, 6 and the close at 7
  CHECK(lines[0].rfind("3 batches [", 0) == 0);
  CHECK(lines[2].rfind("7 batches [", 0) == 0);
  CHECK(lines[2].find(" it/s]") != std::string::npos);
  CHECK_THROWS_WITH_AS(open_ended.update(), doctest::Contains("after close"), hgc::Error);
  CHECK_THROWS_WITH_AS(utils::ProgressBar(5, utils::ProgressOptions().width(0)), doctest::Contains(">= 1"),
                       hgc::Error);
}

TEST_CASE("progress: a terminal gets one line redrawn in place") {
  std::ostringstream os;
  utils::ProgressBar bar(3, utils::ProgressOptions().out(os).terminal(true).min_interval(0).width(3));
  bar.set_postfix({{"loss", 12.5}});
  for (int i = 0; i < 3; ++i) bar.update(1, 2);
  bar.set_postfix({});
  bar.close();
  std::string s = os.str();
  CHECK(std::count(s.begin(), s.end(), '\r') == 4);
  CHECK(std::count(s.begin(), s.end(), '\n') == 1);
  CHECK(s.back() == '\n');
  CHECK(s.find("\r|#--| 1/3 [") == 0);
  // the shorter final line (no postfix) is padded with spaces to erase the old one
  std::vector<std::string> draws;
  for (size_t at = 1, next; at <= s.size(); at = next + 1) {
    next = std::min(s.find('\r', at), s.size());
    draws.push_back(s.substr(at, next - at));
  }
  REQUIRE(draws.size() == 4);
  CHECK(draws[2].find(" loss=12.5") != std::string::npos);
  CHECK(draws[3].rfind("|###| 3/3 [", 0) == 0);
  CHECK(draws[3].find("loss") == std::string::npos);
  CHECK(draws[3].size() >= draws[2].size() + 1);  // + the newline
  CHECK(draws[3].substr(draws[3].size() - 2) == " \n");
}
