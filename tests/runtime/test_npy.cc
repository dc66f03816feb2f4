#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "hgc/base/error.h"
#include "hgc/runtime/tensor_io.h"

using namespace hgc;

TEST_CASE("npy round trip for every supported dtype, 64-byte aligned data") {
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::u8, DType::i32, DType::i8,
                  DType::i64, DType::boolean, DType::i16, DType::u16, DType::u32, DType::u64}) {
    CAPTURE(dtype_name(t));
    HostTensor a(t, {2, 3});
    for (size_t i = 0; i < a.nbytes(); ++i) static_cast<uint8_t*>(a.raw())[i] = uint8_t(i * 7 % 2);
    std::string b = save_npy_bytes(a);
    CHECK((b.size() - a.nbytes()) % 64 == 0);
    HostTensor c = load_npy_bytes(b, "mem");
    CHECK(c.dtype() == t);
    CHECK(c.shape() == a.shape());
    CHECK(std::memcmp(c.raw(), a.raw(), a.nbytes()) == 0);
  }
  HostTensor s(DType::f32, {});
  s.data<float>()[0] = 3.5f;
  CHECK(load_npy_bytes(save_npy_bytes(s), "m").data<float>()[0] == 3.5f);
  HostTensor v(DType::f32, {5});
  CHECK(save_npy_bytes(v).find("'shape': (5,)") != std::string::npos);
}

TEST_CASE("npy headers as numpy writes them, v1 and v2") {
  // numpy 1.x writes "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" padded.
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string v1("\x93NUMPY\x01\x00", 8);
  uint16_t l16 = header.size();
  v1.append(reinterpret_cast<char*>(&l16), 2);
  v1 += header;
  float vals[2] = {1.5f, -2.f};
  v1.append(reinterpret_cast<char*>(vals), 8);
  HostTensor t = load_npy_bytes(v1, "v1");
  CHECK(t.data<float>()[1] == -2.f);
  std::string v2("\x93NUMPY\x02\x00", 8);
  uint32_t l32 = header.size();
  v2.append(reinterpret_cast<char*>(&l32), 4);
  v2 += header;
  v2.append(reinterpret_cast<char*>(vals), 8);
  CHECK(load_npy_bytes(v2, "v2").data<float>()[0] == 1.5f);
}

namespace {

// Builds a v1 .npy of `vals` under the dict literal `dict` (padded as numpy pads).
std::string npy_with_header(std::string dict, const std::vector<float>& vals) {
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::string b("\x93NUMPY\x01\x00", 8);
  uint16_t l16 = static_cast<uint16_t>(dict.size());
  b.append(reinterpret_cast<char*>(&l16), 2);
  b += dict;
  b.append(reinterpret_cast<const char*>(vals.data()), vals.size() * sizeof(float));
  return b;
}

}  // namespace

TEST_CASE("npy headers in other spellings: key order, quotes, spaces; missing keys fail") {
  const std::vector<float> v{1.f, 2.f, 3.f, 4.f, 5.f, 6.f};
  for (const char* dict : {"{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
                           "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}",
                           "{ 'descr' :'<f4' ,'fortran_order'  :  False,'shape':(2,3) , }",
                           "{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3), }"}) {
    CAPTURE(dict);
    HostTensor t = load_npy_bytes(npy_with_header(dict, v), "spelling");
    REQUIRE(t.dtype() == DType::f32);
    CHECK(t.shape() == std::vector<int64_t>{2, 3});
    CHECK(std::memcmp(t.data<float>(), v.data(), 24) == 0);
  }
  // A key's name inside another value is not the key.
  HostTensor s = load_npy_bytes(npy_with_header("{'note': 'shape', 'descr': '<f4', 'fortran_order': False, "
                                                "'shape': (6,)}", v), "inner");
  CHECK(s.shape() == std::vector<int64_t>{6});
  std::vector<uint16_t> h{0x3f80, 0x4000};
  std::string bf = npy_with_header("{'descr': [( 'bfloat16' ,'<u2' )], 'fortran_order': False, 'shape': (2,)}", {});
  bf.append(reinterpret_cast<const char*>(h.data()), 4);
  HostTensor b = load_npy_bytes(bf, "bf16");
  CHECK(b.dtype() == DType::bf16);
  CHECK(b.data<uint16_t>()[1] == 0x4000);
  CHECK_THROWS_WITH_AS(load_npy_bytes(npy_with_header("{'descr': '<f4', 'fortran_order': False}", v), "m"),
                       doctest::Contains("lacks 'shape'"), Error);
  CHECK_THROWS_WITH_AS(load_npy_bytes(npy_with_header("{'descr': '<f4', 'shape': (6,)}", v), "m"),
                       doctest::Contains("lacks 'fortran_order'"), Error);
  CHECK_THROWS_WITH_AS(load_npy_bytes(npy_with_header("{'descr': [('x', '<f4')], 'fortran_order': False, "
                                                      "'shape': (6,)}", v), "m"),
                       doctest::Contains("lacks 'descr'"), Error);
  CHECK_THROWS_AS(load_npy_bytes(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,", v), "m"),
                  Error);
}

TEST_CASE("hostile npy files fail with errors") {
  HostTensor a(DType::f32, {4, 4});
  std::string good = save_npy_bytes(a);
  for (size_t n = 0; n < good.size(); n += 3) CHECK_THROWS_AS(load_npy_bytes(good.substr(0, n), "c"), Error);
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  CHECK_THROWS_WITH_AS(load_npy_bytes(fortran, "f"), doctest::Contains("Fortran"), Error);
  std::string big = good;
  big.replace(big.find("(4, 4)"), 6, "(9999999999, 9999999999)");
  CHECK_THROWS_AS(load_npy_bytes(big, "b"), Error);
  std::string cplx = good;
  cplx.replace(cplx.find("<f4"), 3, "<c8");
  CHECK_THROWS_WITH_AS(load_npy_bytes(cplx, "x"), doctest::Contains("'<c8'"), Error);
  CHECK_THROWS_WITH_AS(load_npy_bytes("not numpy at all", "n"), doctest::Contains("bad magic"), Error);
  CHECK_THROWS_AS(load_npy("/nonexistent/file.npy"), Error);
}

TEST_CASE("bfloat16 arrays round-trip through .npy (MXNet's record descr) and .params (type flag 12)") {
  HostTensor a(DType::bf16, {2, 3});
  for (int i = 0; i < 6; ++i) a.data<uint16_t>()[i] = static_cast<uint16_t>(0x3f80 + 0x11 * i);  // 1.0, ...
  std::string b = save_npy_bytes(a);
  CHECK(b.find("'descr': [('bfloat16', '<u2')]") != std::string::npos);
  HostTensor c = load_npy_bytes(b, "mem");
  REQUIRE(c.dtype() == DType::bf16);
  CHECK(c.shape() == a.shape());
  CHECK(std::memcmp(c.data<uint16_t>(), a.data<uint16_t>(), 12) == 0);
  ParamList p{{"arg:w", a}};
  ParamList q = load_params_bytes(save_params_bytes(p), "mem");
  REQUIRE(q.size() == 1);
  REQUIRE(q[0].second.dtype() == DType::bf16);
  CHECK(std::memcmp(q[0].second.data<uint16_t>(), a.data<uint16_t>(), 12) == 0);
}
