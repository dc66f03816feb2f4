#include <doctest/doctest.h>

#include <bit>
#include <cstring>
#include <filesystem>

#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/runtime/tensor_io.h"
#include "support/paths.h"

using namespace hgc;

namespace {
template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
float f32(uint32_t bits) { return std::bit_cast<float>(bits); }

// A V3 file (numpy shape semantics) with a scalar, as MXNet 1.6+ writes under np semantics.
std::string v3_scalar_file() {
  std::string s;
  put<uint64_t>(s, 0x112);
  put<uint64_t>(s, 0);
  put<uint64_t>(s, 1);
  put<uint32_t>(s, 0xF993FACA);
  put<int32_t>(s, 0);  // dense
  put<int32_t>(s, 0);  // ndim 0: a scalar
  put<int32_t>(s, 1);
  put<int32_t>(s, 0);
  put<int32_t>(s, 6);  // int64
  put<int64_t>(s, -42);
  put<uint64_t>(s, 1);
  put<uint64_t>(s, 1);
  s += "s";
  return s;
}
}  // namespace

TEST_CASE("legacy (pre-V1) params: go_test-0001.params, values checked against the bytes") {
  auto path = test::shared_model("go_test-0001.params");
  if (!path) return;
  ParamList p = load_params(*path);
  REQUIRE(p.size() == 2);
  CHECK(p[0].first == "arg:pred_bias");
  CHECK(p[0].second.shape() == std::vector<int64_t>{10});
  CHECK(p[1].first == "arg:pred_weight");
  CHECK(p[1].second.shape() == std::vector<int64_t>{10, 1});
  CHECK(p[1].second.dtype() == DType::f32);
  // Bytes at offset 0x5c.. of the file: 0x3a7feb3c, ... read with xxd and decoded by hand.
  std::string raw = read_file(*path, "test");
  uint32_t bits;
  std::memcpy(&bits, raw.data() + 24 + 4 + 4 + 12 + 40 + 4 + 8 + 12, 4);
  CHECK(p[1].second.data<float>()[0] == f32(bits));
  CHECK(p[1].second.data<float>()[0] == doctest::Approx(0.00097627));
  CHECK(p[1].second.data<float>()[1] == doctest::Approx(0.00185689));
  for (int i = 0; i < 10; ++i) CHECK(p[0].second.data<float>()[i] == 0.0f);
}

TEST_CASE("V1 params: sm_dummy_model-0000.params") {
  auto path = test::shared_model("sm_dummy_model-0000.params");
  if (!path) return;
  ParamList p = load_params(*path);
  REQUIRE(p.size() == 2);
  CHECK(p[0].first == "arg:fc1_weight");
  CHECK(p[0].second.shape() == std::vector<int64_t>{1, 2});
  CHECK(p[0].second.data<float>()[0] == f32(0x3f800000));  // bytes 00 00 80 3f
  CHECK(p[0].second.data<float>()[1] == f32(0x3fffffd5));  // bytes d5 ff ff 3f
  CHECK(p[1].first == "arg:fc1_bias");
  CHECK(p[1].second.shape() == std::vector<int64_t>{1});
  CHECK(p[1].second.data<float>()[0] == f32(0x36266c0c));  // bytes 0c 6c 26 36
  CHECK(strip_param_prefix(p[1].first) == "fc1_bias");
}

TEST_CASE("V2 save/load round trip keeps names, dtypes, shapes and values") {
  ParamList p;
  HostTensor a(DType::f32, {2, 3});
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = 0.5f * i;
  HostTensor b(DType::i64, {4});
  for (int i = 0; i < 4; ++i) b.data<int64_t>()[i] = -i;
  p.emplace_back("arg:w", a);
  p.emplace_back("aux:m", b);
  std::string bytes = save_params_bytes(p);
  uint32_t magic;
  std::memcpy(&magic, bytes.data() + 24, 4);
  CHECK(magic == 0xF993FAC9);
  ParamList q = load_params_bytes(bytes, "mem");
  REQUIRE(q.size() == 2);
  CHECK(q[0].first == "arg:w");
  CHECK(q[1].second.dtype() == DType::i64);
  CHECK(q[1].second.data<int64_t>()[3] == -3);
  CHECK(std::memcmp(q[0].second.raw(), a.raw(), a.nbytes()) == 0);
  CHECK(save_params_bytes(q) == bytes);

  ParamList list;  // list form: no names
  list.emplace_back("", a);
  CHECK(load_params_bytes(save_params_bytes(list), "mem")[0].first.empty());
}

TEST_CASE("V3 scalar arrays load") {
  ParamList p = load_params_bytes(v3_scalar_file(), "v3");
  REQUIRE(p.size() == 1);
  CHECK(p[0].second.ndim() == 0);
  CHECK(p[0].second.data<int64_t>()[0] == -42);
}

TEST_CASE("truncated and hostile params files fail cleanly") {
  ParamList p;
  HostTensor a(DType::f32, {3, 2});
  p.emplace_back("arg:w", a);
  std::string good = save_params_bytes(p);
  for (size_t n = 0; n < good.size(); ++n)
    CHECK_THROWS_AS(load_params_bytes(good.substr(0, n), "cut"), Error);
  CHECK_THROWS_WITH_AS(load_params_bytes(good.substr(0, 40), "cut.params"),
                       doctest::Contains("cut.params: truncated at offset"), Error);
  CHECK_THROWS_WITH_AS(load_params_bytes(good + "x", "t"), doctest::Contains("trailing"), Error);

  std::string huge;  // claims 2^40 arrays in a tiny file
  put<uint64_t>(huge, 0x112);
  put<uint64_t>(huge, 0);
  put<uint64_t>(huge, uint64_t(1) << 40);
  CHECK_THROWS_WITH_AS(load_params_bytes(huge, "h"), doctest::Contains("exceeds file size"), Error);

  std::string bigdims = good;  // dims claiming an exabyte of data
  int64_t big = int64_t(1) << 40;
  std::memcpy(&bigdims[24 + 4 + 4 + 4], &big, 8);
  CHECK_THROWS_AS(load_params_bytes(bigdims, "b"), Error);
  std::string neg = good;
  int64_t minus = -5;
  std::memcpy(&neg[24 + 4 + 4 + 4], &minus, 8);
  CHECK_THROWS_WITH_AS(load_params_bytes(neg, "n"), doctest::Contains("negative"), Error);
  std::string sparse = good;
  int32_t one = 1;
  std::memcpy(&sparse[24 + 4], &one, 4);
  CHECK_THROWS_WITH_AS(load_params_bytes(sparse, "s"), doctest::Contains("sparse"), Error);
  std::string dtype = good;
  int32_t bad = 99;
  std::memcpy(&dtype[24 + 4 + 4 + 4 + 16 + 8], &bad, 4);
  CHECK_THROWS_WITH_AS(load_params_bytes(dtype, "d"), doctest::Contains("dtype code 99"), Error);
  CHECK_THROWS_WITH_AS(load_params_bytes("garbage-garbage-garbage-", "g"),
                       doctest::Contains("bad magic"), Error);
}

TEST_CASE("a failed save leaves an existing file untouched") {
  std::string dir = test::temp_dir();
  std::string path = dir + "/keep.params";
  ParamList p;
  p.emplace_back("arg:w", HostTensor(DType::f32, {2}));
  save_params(path, p);
  std::string before = read_file(path, "test");
  ParamList bad;
  bad.emplace_back("x", HostTensor(DType::f32, {}));  // 0-d cannot be written as V2
  CHECK_THROWS_AS(save_params(path, bad), Error);
  CHECK(read_file(path, "test") == before);
  CHECK_THROWS_AS(save_params(dir + "/no/such/dir/x.params", p), Error);
  std::filesystem::remove_all(dir);
}
