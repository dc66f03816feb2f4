// The Straight Dope chapter "Fast, portable neural networks with Gluon HybridBlocks" in
// C++: the HybridSequential MLP gives the same output before and after hybridize(), the
// forward function runs once when hybridized and on every call when not, and the symbolic
// program has the book's structure and names.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "hgc/hgc.h"
#include "hgc/ir/json_io.h"
#include "support/nd_close.h"

using namespace hgc;
using namespace hgc::gluon;
using hgc::test::check_close;

namespace {

std::shared_ptr<nn::HybridSequential> get_net() {
  auto net = std::make_shared<nn::HybridSequential>();
  {
    auto scope = net->name_scope();
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(2)));
  }
  net->collect_params().initialize();
  return net;
}

// The book's Net, counting its hybrid_forward calls instead of printing type(x).
class Net : public HybridBlock {
 public:
  Net() : HybridBlock("net") {
    auto scope = name_scope();
    fc1 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(256)), "fc1");
    fc2 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(128)), "fc2");
    fc3 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(2)), "fc3");
  }
  NDArray hybrid_forward(const NDArray& x) override {
    ++calls;
    last_symbolic = x.is_symbolic();
    NDArray h = nd::relu((*fc1)(x));
    h = nd::relu((*fc2)(h));
    return (*fc3)(h);
  }
  std::shared_ptr<nn::Dense> fc1, fc2, fc3;
  int calls = 0;
  bool last_symbolic = false;
};

}  // namespace

TEST_CASE("gluon hybrid: the MLP gives the same output before and after hybridize") {
  NameManager names;
  nd::random::seed(1);
  NDArray x = nd::random::normal(0, 1, {1, 512});
  auto net = get_net();
  NDArray before = (*net)(x);
  CHECK(before.shape() == std::vector<int64_t>{1, 2});
  // Deferred initialization filled in_units from the first input.
  CHECK(net->collect_params()["hybridsequential0_dense0_weight"]->shape() == std::vector<int64_t>{256, 512});
  CHECK(net->collect_params()["hybridsequential0_dense1_weight"]->shape() == std::vector<int64_t>{128, 256});
  net->hybridize();
  NDArray after = (*net)(x);
  check_close(after, before, 1e-5);
  NDArray again = (*net)(x);
  check_close(again, before, 1e-5);
  CHECK(net->cache_stats().misses == 1);
  CHECK(net->cache_stats().hits == 1);
  // A new batch size reuses the entry (the batch axis is symbolic, issue 19): no second compile.
  NDArray x4 = nd::random::normal(0, 1, {4, 512});
  {
    NDArray y4 = (*net)(x4);
    CHECK(y4.shape() == std::vector<int64_t>{4, 2});
    CHECK(net->cache_stats().entries == 1);
    CHECK(net->compile_count() == 1);
    net->hybridize(false);
    check_close(y4, (*net)(x4), 1e-5);
  }
  CHECK(net->repr() ==
        "HybridSequential(\n"
        "  (0): Dense(512 -> 256, Activation(relu))\n"
        "  (1): Dense(256 -> 128, Activation(relu))\n"
        "  (2): Dense(128 -> 2, linear)\n"
        ")");
}

TEST_CASE("gluon hybrid: hybrid_forward runs on every call imperatively, once when hybridized") {
  NameManager names;
  nd::random::seed(2);
  auto net = std::make_shared<Net>();
  net->collect_params().initialize();
  NDArray x = nd::random::normal(0, 1, {1, 512});
  NDArray y1 = (*net)(x);
  NDArray y2 = (*net)(x);
  CHECK(net->calls == 2);
  CHECK_FALSE(net->last_symbolic);
  // Static shapes: one trace per shape (the default's batch-symbolic trace runs hybrid_forward
  // once more, at a probe size: test_hybrid_dynamic.cc).
  net->hybridize(true, HybridizeOptions().static_shapes());
  NDArray y3 = (*net)(x);
  CHECK(net->calls == 3);
  CHECK(net->last_symbolic);  // the first hybridized call traces with symbolic inputs
  NDArray y4 = (*net)(x);
  CHECK(net->calls == 3);     // the second runs the compiled graph
  check_close(y4, y1, 1e-5);
  CHECK(net->fc1->name() == "net0_dense0");
  CHECK(net->collect_params().keys() ==
        std::vector<std::string>{"net0_dense0_weight", "net0_dense0_bias", "net0_dense1_weight", "net0_dense1_bias",
                                 "net0_dense2_weight", "net0_dense2_bias"});
}

TEST_CASE("gluon hybrid: the symbolic program has the book's structure and names") {
  NameManager names;
  auto unused = get_net();  // hybridsequential0, as the book's first get_net()
  auto net = get_net();     // hybridsequential1
  Symbol x = sym::var("data");
  CHECK(x.str() == "<Symbol data>");
  Symbol y = (*net)(x);
  CHECK(y.str() == "<Symbol hybridsequential1_dense2_fwd>");
  Graph g = load_json(y.to_json());
  std::vector<std::pair<std::string, std::string>> want = {
      {"null", "data"},
      {"null", "hybridsequential1_dense0_weight"},
      {"null", "hybridsequential1_dense0_bias"},
      {"FullyConnected", "hybridsequential1_dense0_fwd"},
      {"Activation", "hybridsequential1_dense0_relu_fwd"},
      {"null", "hybridsequential1_dense1_weight"},
      {"null", "hybridsequential1_dense1_bias"},
      {"FullyConnected", "hybridsequential1_dense1_fwd"},
      {"Activation", "hybridsequential1_dense1_relu_fwd"},
      {"null", "hybridsequential1_dense2_weight"},
      {"null", "hybridsequential1_dense2_bias"},
      {"FullyConnected", "hybridsequential1_dense2_fwd"}};
  REQUIRE(g.nodes.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(g.nodes[i].op_name == want[i].first);
    CHECK(g.nodes[i].name == want[i].second);
  }
  // Parameter variables carry Gluon's attributes; deferred dims are 0.
  CHECK(g.nodes[1].hidden.at("__shape__") == "(256, 0)");
  CHECK(g.nodes[1].hidden.at("__dtype__") == "0");
  CHECK(g.nodes[1].hidden.at("__lr_mult__") == "1.0");
  CHECK(g.nodes[1].hidden.at("__wd_mult__") == "1.0");
  CHECK(g.nodes[2].hidden.at("__init__") == "zeros");
  CHECK(g.nodes[2].hidden.at("__shape__") == "(256,)");
  CHECK(g.nodes[3].inputs.size() == 3);
  CHECK(g.nodes[3].inputs[0].node == 0);
  CHECK(g.nodes[4].inputs[0].node == 3);
  // The top-level keys, and exactly the book's node attributes.
  std::string json = y.to_json();
  for (const char* key : {"\"nodes\"", "\"arg_nodes\"", "\"node_row_ptr\"", "\"heads\"", "\"attrs\"", "\"mxnet_version\""})
    CHECK(json.find(key) != std::string::npos);
  CHECK(json.find("\"num_hidden\": \"256\"") != std::string::npos);
  CHECK(json.find("\"act_type\": \"relu\"") != std::string::npos);
  CHECK(json.find("no_bias") == std::string::npos);  // only the attributes the layer sets
  CHECK(g.variable_ids() == std::vector<int>{0, 1, 2, 5, 6, 9, 10});
  REQUIRE(g.heads.size() == 1);
  CHECK(g.heads[0].node == 11);
}

TEST_CASE("gluon hybrid: reading values during a trace is an error naming the block") {
  NameManager names;
  struct Peek : HybridBlock {
    Peek() : HybridBlock("peek") {}
    NDArray hybrid_forward(const NDArray& x) override {
      float s = nd::sum(x).asscalar<float>();  // a branch on a value cannot be traced
      return s > 0 ? x * 2 : x;
    }
  };
  auto b = std::make_shared<Peek>();
  NDArray x = nd::ones({2, 3});
  CHECK((*b)(x).to_vector<float>()[0] == 2.f);  // imperative: fine
  b->hybridize();
  try {
    (*b)(x);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("asscalar") != std::string::npos);
    CHECK(m.find("peek0") != std::string::npos);
  }
  // Printing and in-place writes are refused the same way.
  struct Printer : HybridBlock {
    Printer() : HybridBlock("printer") {}
    NDArray hybrid_forward(const NDArray& x) override {
      (void)x.str();
      return x;
    }
  };
  auto p = std::make_shared<Printer>();
  p->hybridize();
  CHECK_THROWS_WITH_AS((*p)(x), doctest::Contains("printer0"), Error);
  struct InPlace : HybridBlock {
    InPlace() : HybridBlock("inplace") {}
    NDArray hybrid_forward(const NDArray& x) override {
      NDArray y = x * 1;
      y += 1;
      return y;
    }
  };
  auto ip = std::make_shared<InPlace>();
  CHECK((*ip)(x).to_vector<float>()[0] == 2.f);
  ip->hybridize();
  CHECK_THROWS_WITH_AS((*ip)(x), doctest::Contains("not supported on traced values"), Error);
  // A failed trace leaves nothing cached.
  CHECK(ip->cache_stats().entries == 0);
}

TEST_CASE("gluon hybrid: shape queries work during a trace") {
  NameManager names;
  struct Shaper : HybridBlock {
    Shaper() : HybridBlock("shaper") {}
    NDArray hybrid_forward(const NDArray& x) override {
      seen = x.shape();
      return x.reshape({x.shape()[0], -1}) * 3;
    }
    std::vector<int64_t> seen;
  };
  auto b = std::make_shared<Shaper>();
  b->hybridize();
  NDArray y = (*b)(nd::ones({2, 3, 4}));
  CHECK(b->seen == std::vector<int64_t>{2, 3, 4});
  CHECK(y.shape() == std::vector<int64_t>{2, 12});
  CHECK(y.to_vector<float>()[5] == 3.f);
}

TEST_CASE("gluon hybrid: 1000 forwards of the book's MLP, imperative vs hybridized") {
  NameManager names;
  nd::random::seed(3);
  NDArray x = nd::random::normal(0, 1, {1, 512});
  auto net = get_net();
  auto bench = [&] {
    (*net)(x);  // warm-up: kernels compiled, deferred init done, graph traced
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) (*net)(x);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double before = bench();
  net->hybridize();
  double after = bench();
  MESSAGE("1000 forwards (batch 1, 512->256->128->2): imperative " << before << " s, hybridized " << after
                                                                    << " s, speedup " << before / after << "x");
  CHECK(after > 0);
}

TEST_CASE("gluon hybrid: constants, containers, mode keys and random draws in traces") {
  NameManager names;
  nd::random::seed(21);
  // A concrete array used in hybrid_forward becomes a constant input of the graph.
  auto shift = std::make_shared<nn::HybridLambda>([](const NDArray& x) { return x + nd::arange(0, 3); }, "shift");
  NDArray x = nd::ones({2, 3});
  NDArray a = (*shift)(x);
  shift->hybridize();
  CHECK((*shift)(x).to_vector<float>() == a.to_vector<float>());
  CHECK(shift->repr() == "HybridLambda(shift)");
  // HybridConcurrent concatenates its children's outputs.
  auto cat = std::make_shared<nn::HybridConcurrent>(1);
  {
    auto s = cat->name_scope();
    cat->emplace<nn::Dense>(nn::DenseOptions(2));
    cat->emplace<nn::Dense>(nn::DenseOptions(3));
  }
  cat->initialize();
  NDArray c = (*cat)(x);
  CHECK(c.shape() == std::vector<int64_t>{2, 5});
  cat->hybridize();
  CHECK((*cat)(x).to_vector<float>() == c.to_vector<float>());
  // Training and predict mode are separate cache entries.
  {
    TrainMode t;
    (*cat)(x);
  }
  CHECK(cat->cache_stats().entries == 2);
  // Random draws inside a traced forward are graph ops (_random_normal), not frozen
  // constants: each call of the compiled forward draws new numbers.
  auto noisy = std::make_shared<nn::HybridLambda>([](const NDArray& x) { return x + nd::random::normal(0, 1, x.shape()); });
  CHECK((*noisy)(x).shape() == x.shape());
  noisy->hybridize();
  NDArray n1 = (*noisy)(x), n2 = (*noisy)(x);
  CHECK(n1.shape() == x.shape());
  CHECK(n1.to_vector<float>() != n2.to_vector<float>());
}
