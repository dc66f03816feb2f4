// The ONNX reader on ONNX's own backend test models (libonnx-testdata, installed by
// scripts/setup.sh: a missing file fails) and on models built here: structure of the
// imported graph, parameters, folding of shape computations, external data, and clear
// errors for bad input.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "hgc/hgc.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/verify.h"
#include "hgc/onnx/onnx.h"
#include "onnx/onnx_pb.h"
#include "support/paths.h"
#include "support/shell.h"

using namespace hgc;
using namespace hgc::test;

namespace {

const std::string kData = "/usr/share/libonnx-testdata/data/";

std::string testdata(const std::string& rel) {
  std::string p = kData + rel + "/model.onnx";
  REQUIRE_MESSAGE(std::filesystem::exists(p), p << " is missing: install libonnx-testdata (scripts/setup.sh)");
  return p;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_name == op;
  return n;
}

// A one-node model y = op(x[, w]) with float inputs of `shape`.
onnx::ModelProto tiny_model(const std::string& op, const std::vector<int64_t>& shape, bool with_weight = false) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("tiny");
  auto add_io = [&](onnx::ValueInfoProto* v, const std::string& name) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) tt->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_io(g->add_input(), "x");
  add_io(g->add_output(), "y");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("the_node");
  n->add_input("x");
  if (with_weight) n->add_input("w");
  n->add_output("y");
  return m;
}

std::string bytes_of(const onnx::ModelProto& m) {
  std::string s;
  REQUIRE(m.SerializeToString(&s));
  return s;
}

std::string error_of(const std::string& bytes, const std::string& dir = ".") {
  try {
    read_onnx_bytes(bytes, "m.onnx", dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("onnx: a convolution test model imports as one Convolution with ONNX's attributes") {
  OnnxModel m = read_onnx_file(testdata("node/test_conv_with_strides_padding"));
  REQUIRE(count_op(m.graph, "Convolution") == 1);
  const Node& c = m.graph.nodes[m.graph.heads[0].node];
  CHECK(c.op_name == "Convolution");
  CHECK(c.attr_view().tuple("stride") == std::vector<int64_t>{2, 2});
  CHECK(c.attr_view().tuple("pad") == std::vector<int64_t>{1, 1});
  CHECK(c.attr_view().b("no_bias"));
  CHECK(m.inputs == std::vector<std::string>{"x", "W"});
  CHECK(m.input_shapes.at("x") == Shape{1, 1, 7, 5});
  infer(m.graph, m.infer_options());
  verify(m.graph);
  CHECK(m.graph.shape(m.graph.heads[0]) == Shape{1, 1, 4, 3});
}

TEST_CASE("onnx: initializers become parameters with their values") {
  OnnxModel m = read_onnx_file(testdata("pytorch-converted/test_Linear"));
  std::vector<std::string> params = m.graph.names_with_role(VarRole::Parameter);
  REQUIRE(params.size() == 2);
  for (const std::string& p : params) {
    REQUIRE(m.params.count(p));
    CHECK(m.params.at(p).dtype == DType::f32);
  }
  CHECK(count_op(m.graph, "FullyConnected") == 1);
  CHECK(m.graph.names_with_role(VarRole::Input).size() == 1);
}

TEST_CASE("onnx: shape computations fold away once the input shapes are known") {
  // PyTorch's view(): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
  OnnxModel m = read_onnx_file(testdata("pytorch-operator/test_operator_view"));
  for (const Node& n : m.graph.nodes) CHECK_MESSAGE((n.is_variable() || n.op), n.describe());
  infer(m.graph, m.infer_options());
  verify(m.graph);
  // Symbolic dims become unknown dims; a given shape replaces them.
  onnx::ModelProto tm = tiny_model("Relu", {2, 3});
  tm.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("batch");
  OnnxModel sym = read_onnx_bytes(bytes_of(tm), "sym.onnx", ".");
  CHECK(sym.input_shapes.at("x") == Shape{Shape::kUnknownDim, 3});
  OnnxModel given = read_onnx_bytes(bytes_of(tm), "sym.onnx", ".", OnnxReadOptions().shape("x", Shape{5, 3}));
  CHECK(given.input_shapes.at("x") == Shape{5, 3});
}

TEST_CASE("onnx: external initializer data is read from beside the model") {
  std::string dir = temp_dir() + "/onnx_external";
  std::filesystem::create_directories(dir);
  onnx::ModelProto m = tiny_model("Add", {2, 2}, true);
  auto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char* k, const std::string& v) {
    auto* e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "weights.bin");
  kv("offset", "4");
  const float vals[5] = {99, 1, 2, 3, 4};
  std::ofstream(dir + "/weights.bin", std::ios::binary).write(reinterpret_cast<const char*>(vals), sizeof vals);
  std::ofstream(dir + "/model.onnx", std::ios::binary) << bytes_of(m);
  OnnxModel r = read_onnx_file(dir + "/model.onnx");
  REQUIRE(r.params.count("w"));
  float got[4];
  std::memcpy(got, r.params.at("w").bytes.data(), sizeof got);
  CHECK(got[0] == 1);
  CHECK(got[3] == 4);
  // Missing external data names the file.
  std::filesystem::remove(dir + "/weights.bin");
  CHECK_THROWS_WITH_AS(read_onnx_file(dir + "/model.onnx"), doctest::Contains("weights.bin"), Error);
  // A location outside the model's folder is refused.
  w->mutable_external_data(0)->set_value("../secret.bin");
  CHECK(error_of(bytes_of(m), dir).find("relative path beside the model") != std::string::npos);
}

TEST_CASE("onnx: bad input gives errors naming the file and node") {
  std::string good = bytes_of(tiny_model("Relu", {2, 3}));
  CHECK(error_of("").find("not an ONNX model") != std::string::npos);
  CHECK(error_of(good.substr(0, good.size() / 2)).find("m.onnx") != std::string::npos);
  CHECK(error_of("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01garbage").find("[onnx]") != std::string::npos);

  onnx::ModelProto v = tiny_model("Relu", {2, 3});
  v.set_ir_version(42);
  CHECK(error_of(bytes_of(v)).find("IR version 42") != std::string::npos);

  onnx::ModelProto u = tiny_model("NoSuchOp", {2, 3});
  std::string e = error_of(bytes_of(u));
  CHECK(e.find("the_node") != std::string::npos);
  CHECK(e.find("NoSuchOp") != std::string::npos);

  // A cycle: y = Relu(z), z = Relu(y).
  onnx::ModelProto c = tiny_model("Relu", {2, 3});
  c.mutable_graph()->mutable_node(0)->set_input(0, "z");
  auto* n2 = c.mutable_graph()->add_node();
  n2->set_op_type("Relu");
  n2->add_input("y");
  n2->add_output("z");
  CHECK(error_of(bytes_of(c)).find("not defined before this node") != std::string::npos);

  // Strings and complex numbers are unsupported dtypes; sequences are their own category.
  onnx::ModelProto s = tiny_model("Identity", {2});
  s.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::STRING);
  try {
    read_onnx_bytes(bytes_of(s), "s.onnx", ".");
    FAIL("a string input was accepted");
  } catch (const OnnxUnsupported& x) {
    CHECK(x.kind() == OnnxUnsupportedKind::Dtype);
    CHECK(std::string(x.what()).find("STRING") != std::string::npos);
  }
  onnx::ModelProto q = tiny_model("Identity", {2});
  q.mutable_graph()->mutable_input(0)->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(1);
  try {
    read_onnx_bytes(bytes_of(q), "q.onnx", ".");
    FAIL("a sequence input was accepted");
  } catch (const OnnxUnsupported& x) {
    CHECK(x.kind() == OnnxUnsupportedKind::SequenceOrOptional);
  }
  // A raw tensor whose byte count disagrees with its shape.
  onnx::ModelProto r = tiny_model("Add", {2}, true);
  auto* w = r.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_raw_data(std::string(7, '\0'));
  CHECK(error_of(bytes_of(r)).find("raw data has 7 bytes") != std::string::npos);
}

TEST_CASE("onnx: hgc dump and hgc run take .onnx files") {
  std::string model = testdata("pytorch-converted/test_Conv2d");
  Shell d = hgc_tool("dump " + model);
  REQUIRE_MESSAGE(d.code == 0, d.out);
  CHECK(d.out.find("Convolution") != std::string::npos);
  Shell r = hgc_tool("run " + model + " --input 0=2x3x7x5:random");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("output 0: (2, 4, 5, 4) float32") != std::string::npos);
  Shell t = hgc_tool("onnx-test " + kData + "node/test_relu");
  CHECK(t.code == 0);
  CHECK(t.out == "PASS\n");
}

TEST_CASE("onnx: SymbolBlock::imports runs an .onnx model with its initializers") {
  std::string dir = kData + "pytorch-converted/test_Linear";
  auto b = gluon::SymbolBlock::imports(testdata("pytorch-converted/test_Linear"), {});
  CHECK(b->collect_params().size() == 2);
  OnnxTensor x = read_onnx_tensor_file(dir + "/test_data_set_0/input_0.pb");
  OnnxTensor want = read_onnx_tensor_file(dir + "/test_data_set_0/output_0.pb");
  HostTensor h(x.dtype, x.shape);
  std::memcpy(h.raw(), x.bytes.data(), x.bytes.size());
  NDArray y = (*b)(NDArray(h));
  std::vector<float> got = y.to_vector<float>();
  REQUIRE(static_cast<int64_t>(got.size()) == want.numel());
  for (int64_t i = 0; i < want.numel(); ++i) CHECK(got[i] == doctest::Approx(want.as_double(i)).epsilon(1e-4));
}

// BFLOAT16 tensors (issue 18): initializers in raw_data and in int32_data (16 bits each) read
// as bf16; y = Cast(x, float) + Cast(w, float) runs; the exporter writes bf16 initializers
// that pass the checker and read back bit for bit.
TEST_CASE("onnx: bfloat16 initializers and inputs read, run and export") {
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return static_cast<uint16_t>(u >> 16);  // exact for these values
  };
  const std::vector<float> wv = {1.5f, -2.0f, 0.25f, 3.0f}, xv = {0.5f, 1.0f, -1.0f, 8.0f};
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bf16");
  auto io = [&](onnx::ValueInfoProto* v, const std::string& name, int type) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(type);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  };
  io(g->add_input(), "x", onnx::TensorProto::BFLOAT16);
  io(g->add_output(), "y", onnx::TensorProto::FLOAT);
  auto* w = g->add_initializer();  // int32_data form
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::BFLOAT16);
  w->add_dims(4);
  for (float f : wv) w->add_int32_data(bits(f));
  auto* w2 = g->add_initializer();  // raw_data form
  w2->set_name("w2");
  w2->set_data_type(onnx::TensorProto::BFLOAT16);
  w2->add_dims(4);
  std::string raw;
  for (float f : wv) {
    uint16_t b = bits(f);
    raw.append(reinterpret_cast<const char*>(&b), 2);
  }
  w2->set_raw_data(raw);
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out, int to = 0) {
    auto* n = g->add_node();
    n->set_op_type(op);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    if (to) {
      auto* a = n->add_attribute();
      a->set_name("to");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(to);
    }
  };
  node("Add", {"w", "w2"}, "w_sum");
  node("Add", {"x", "w_sum"}, "s");
  node("Cast", {"s"}, "y", onnx::TensorProto::FLOAT);
  std::string dir = temp_dir() + "/onnx_bf16";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/m.onnx", std::ios::binary) << bytes_of(m);
  OnnxModel r = read_onnx_file(dir + "/m.onnx");
  REQUIRE(r.params.count("w"));
  CHECK(r.params.at("w").dtype == DType::bf16);
  for (int i = 0; i < 4; ++i) {
    CHECK(r.params.at("w").as_double(i) == wv[i]);
    CHECK(r.params.at("w2").as_double(i) == wv[i]);
  }
  auto b = gluon::SymbolBlock::imports(dir + "/m.onnx", {});
  NDArray y = (*b)(nd::array(xv, {4}).astype(DType::bf16));
  CHECK(y.dtype() == DType::f32);
  CHECK(y.to_vector<float>() == std::vector<float>{3.5f, -3.0f, -0.5f, 14.0f});
  // Export: bf16 parameters and inputs pass the checker and come back the same.
  write_onnx_file(dir + "/back.onnx", r.graph.nodes.empty() ? Graph() : [&] {
    Graph gg = r.graph;
    InferOptions o;
    o.shapes["x"] = Shape{4};
    o.dtypes["x"] = DType::bf16;
    for (auto& [k, v] : r.params) o.shapes[k] = Shape(v.shape), o.dtypes[k] = v.dtype;
    infer(gg, o);
    return gg;
  }(), r.params, 13);
  OnnxModel again = read_onnx_file(dir + "/back.onnx");
  CHECK(again.params.at("w").bytes == r.params.at("w").bytes);
  CHECK(read_onnx_dtypes(dir + "/back.onnx") == std::vector<DType>{DType::bf16});
  std::filesystem::remove_all(dir);
}
