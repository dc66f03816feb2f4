// Parameters, ParameterDict, initializers, deferred initialization, and the Straight Dope
// chapter "Designing a custom layer with gluon" (CenteredLayer, MyDense with params.get).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "hgc/hgc.h"
#include "support/paths.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

class CenteredLayer : public Block {
 public:
  CenteredLayer() : Block("centeredlayer") {}
  NDArray forward(const NDArray& x) override { return x - nd::mean(x); }
};

class MyDense : public Block {
 public:
  MyDense(int64_t units, int64_t in_units = 0) : Block("mydense") {
    auto scope = name_scope();
    weight = params().get("weight", ParamOptions().init(init::Xavier().magnitude(2.24)).shape({in_units, units}));
    bias = params().get("bias", ParamOptions().shape({units}));
  }
  NDArray forward(const NDArray& x) override { return nd::maximum(nd::dot(x, weight->data()) + bias->data(), 0.0); }
  std::shared_ptr<Parameter> weight, bias;
};

double mean_of(const std::vector<float>& v) {
  double s = 0;
  for (float f : v) s += f;
  return s / v.size();
}

}  // namespace

TEST_CASE("gluon params: the custom layer chapter") {
  NameManager names;
  nd::random::seed(1);
  auto net = std::make_shared<CenteredLayer>();
  NDArray y = (*net)(nd::array({1, 2, 3, 4, 5}));
  CHECK(y.to_vector<float>() == std::vector<float>{-2, -1, 0, 1, 2});

  auto net2 = std::make_shared<nn::Sequential>();
  net2->add(std::make_shared<nn::Dense>(nn::DenseOptions(128)));
  net2->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  net2->add(std::make_shared<CenteredLayer>());
  net2->collect_params().initialize(init::Xavier().magnitude(2.24));
  NDArray out = (*net2)(nd::random::uniform(0, 1, {1, 784}));
  CHECK(out.shape() == std::vector<int64_t>{1, 10});
  CHECK(std::abs(nd::mean(out).asscalar<float>()) < 1e-6);
  // Outside a name scope, layers count globally: dense0, dense1.
  CHECK(net2->collect_params().keys() ==
        std::vector<std::string>{"dense0_weight", "dense0_bias", "dense1_weight", "dense1_bias"});

  Parameter my_param("exciting_parameter_yay", ParamOptions().grad_req("write").shape({5, 5}));
  CHECK(my_param.str() == "Parameter exciting_parameter_yay (shape=(5, 5), dtype=float32)");
  my_param.initialize(init::Xavier().magnitude(2.24));
  auto v = my_param.data().to_vector<float>();
  double bound = std::sqrt(2.24 / 5.0);
  for (float f : v) CHECK(std::abs(f) <= bound);

  ParameterDict pd("block1_");
  auto p = pd.get("exciting_parameter_yay", ParamOptions().grad_req("write").shape({5, 5}));
  CHECK(p->str() == "Parameter block1_exciting_parameter_yay (shape=(5, 5), dtype=float32)");
  CHECK(pd["block1_exciting_parameter_yay"] == p);
  CHECK(pd.get("exciting_parameter_yay") == p);  // get finds the existing one

  auto dense = std::make_shared<MyDense>(20, 10);
  dense->collect_params().initialize();
  CHECK(dense->params().str() ==
        "mydense0_ (\n"
        "  Parameter mydense0_weight (shape=(10, 20), dtype=float32)\n"
        "  Parameter mydense0_bias (shape=(20,), dtype=float32)\n"
        ")");
  NDArray d = (*dense)(nd::ones({2, 10}));
  CHECK(d.shape() == std::vector<int64_t>{2, 20});
  auto dv = d.to_vector<float>();
  for (size_t i = 0; i < 20; ++i) CHECK(dv[i] == dv[20 + i]);  // both rows alike
  for (float f : dv) CHECK(f >= 0);
  // The weight's own Xavier(2.24) won over the default Uniform(0.07).
  auto w = dense->weight->data().to_vector<float>();
  double wmax = 0;
  for (float f : w) wmax = std::max(wmax, double(std::abs(f)));
  CHECK(wmax > 0.07);
  CHECK(wmax <= std::sqrt(2.24 / 15.0) + 1e-6);
}

TEST_CASE("gluon params: initializers") {
  nd::random::seed(5);
  NDArray a = nd::zeros({200, 300});
  init::Xavier().init_weight("w", a);
  double scale = std::sqrt(3.0 / 250.0);
  auto v = a.to_vector<float>();
  double mx = 0, var = 0;
  for (float f : v) {
    mx = std::max(mx, double(std::abs(f)));
    var += double(f) * f;
  }
  var /= v.size();
  CHECK(mx <= scale);
  CHECK(var == doctest::Approx(scale * scale / 3).epsilon(0.05));
  init::Xavier().rnd_type("gaussian").factor_type("in").magnitude(2).init_weight("w", a);
  var = 0;
  for (float f : a.to_vector<float>()) var += double(f) * f;
  CHECK(var / v.size() == doctest::Approx(2.0 / 300).epsilon(0.05));
  init::Normal(0.5).init_weight("w", a);
  var = 0;
  for (float f : a.to_vector<float>()) var += double(f) * f;
  CHECK(var / v.size() == doctest::Approx(0.25).epsilon(0.05));
  init::Uniform(0.1).init_weight("w", a);
  CHECK(std::abs(mean_of(a.to_vector<float>())) < 0.01);
  init::Constant(3).init_weight("w", a);
  CHECK(a.to_vector<float>()[7] == 3.f);
  init::Zero().init_weight("w", a);
  CHECK(a.to_vector<float>()[7] == 0.f);
  init::One().init_weight("w", a);
  CHECK(a.to_vector<float>()[7] == 1.f);
  NDArray vec = nd::zeros({4});
  CHECK_THROWS_WITH_AS(init::Xavier().init_weight("b", vec), doctest::Contains("requires at least 2D"), Error);
  // One global generator: the same seed, the same weights.
  nd::random::seed(9);
  NDArray p = nd::zeros({3, 3});
  init::Xavier().init_weight("w", p);
  nd::random::seed(9);
  NDArray q = nd::zeros({3, 3});
  init::Xavier().init_weight("w", q);
  CHECK(p.to_vector<float>() == q.to_vector<float>());
  CHECK(init::Zero().dumps() == "zeros");
  CHECK(init::Xavier().dumps() == "[\"xavier\", {\"rnd_type\": \"uniform\", \"factor_type\": \"avg\", \"magnitude\": 3.0}]");
}

TEST_CASE("gluon params: deferred initialization fills the shapes at the first forward") {
  NameManager names;
  auto fc = std::make_shared<nn::Dense>(nn::DenseOptions(16).activation("tanh"));
  CHECK(fc->weight->shape() == std::vector<int64_t>{16, 0});
  CHECK(fc->repr() == "Dense(None -> 16, Activation(tanh))");
  fc->collect_params().initialize();
  CHECK(fc->weight->deferred());
  CHECK_FALSE(fc->weight->initialized());
  CHECK(fc->bias->initialized());
  CHECK_THROWS_WITH_AS(fc->weight->data(), doctest::Contains("dense0_weight"), Error);
  NDArray y = (*fc)(nd::ones({3, 2, 5}));  // flatten: in_units = 2 * 5
  CHECK(y.shape() == std::vector<int64_t>{3, 16});
  CHECK(fc->weight->shape() == std::vector<int64_t>{16, 10});
  CHECK(fc->weight->initialized());
  CHECK(fc->repr() == "Dense(10 -> 16, Activation(tanh))");
  // flatten=false: the last axis is in_units.
  auto fc2 = std::make_shared<nn::Dense>(nn::DenseOptions(4).flatten(false).use_bias(false));
  fc2->initialize();
  CHECK((*fc2)(nd::ones({3, 2, 5})).shape() == std::vector<int64_t>{3, 2, 4});
  CHECK(fc2->weight->shape() == std::vector<int64_t>{4, 5});
  CHECK(fc2->bias == nullptr);
  // Deferred shapes also complete inside a hybridized parent's trace.
  auto net = std::make_shared<nn::HybridSequential>();
  {
    auto s = net->name_scope();
    net->emplace<nn::Dense>(nn::DenseOptions(8).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(3));
  }
  net->initialize(init::Xavier());
  net->hybridize();
  CHECK((*net)(nd::ones({2, 7})).shape() == std::vector<int64_t>{2, 3});
  CHECK(net->collect_params()["hybridsequential0_dense0_weight"]->shape() == std::vector<int64_t>{8, 7});
  CHECK(net->collect_params()["hybridsequential0_dense1_weight"]->shape() == std::vector<int64_t>{3, 8});
}

TEST_CASE("gluon params: collect_params, select, names and printing") {
  NameManager names;
  auto net = std::make_shared<nn::HybridSequential>();
  {
    auto s = net->name_scope();
    net->emplace<nn::Dense>(nn::DenseOptions(4).in_units(3));
    net->emplace<nn::Dropout>(0.5);
    net->emplace<nn::Dense>(nn::DenseOptions(2).in_units(4));
    net->emplace<nn::Flatten>();
  }
  CHECK(net->collect_params(".*weight").keys() ==
        std::vector<std::string>{"hybridsequential0_dense0_weight", "hybridsequential0_dense1_weight"});
  CHECK(net->collect_params("hybridsequential0_dense1").size() == 2);
  CHECK(net->repr() ==
        "HybridSequential(\n"
        "  (0): Dense(3 -> 4, linear)\n"
        "  (1): Dropout(p = 0.5, axes=())\n"
        "  (2): Dense(4 -> 2, linear)\n"
        "  (3): Flatten\n"
        ")");
  auto p = net->collect_params()["hybridsequential0_dense0_weight"];
  CHECK(p->lr_mult() == 1);
  net->collect_params().setattr_lr_mult(0.5);
  CHECK(p->lr_mult() == 0.5);
  CHECK_THROWS_WITH_AS(p->set_grad_req("sometimes"), doctest::Contains("grad_req"), Error);
  // Shared parameters: a block built with another's params uses the same arrays.
  auto a = std::make_shared<nn::Dense>(nn::DenseOptions(2).in_units(2));
  auto b = std::make_shared<nn::Dense>(nn::DenseOptions(2).in_units(2), BlockArgs().params(a->params_ptr()));
  CHECK(b->weight == a->weight);
}

TEST_CASE("gluon params: save and load, by full and by structural names") {
  NameManager names;
  std::string dir = test::temp_dir();
  auto make = [] {
    auto net = std::make_shared<nn::HybridSequential>();
    auto s = net->name_scope();
    net->emplace<nn::Dense>(nn::DenseOptions(4).in_units(3).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(2).in_units(4));
    return net;
  };
  auto net = make();
  net->initialize(init::Xavier());
  NDArray x = nd::random::normal(0, 1, {2, 3});
  NDArray y = (*net)(x);
  net->collect_params().save(dir + "/full.params");
  net->save_parameters(dir + "/struct.params");
  auto loaded = nd::load_dict(dir + "/struct.params");
  CHECK(loaded.count("0.weight") == 1);
  CHECK(loaded.count("1.bias") == 1);
  CHECK(nd::load_dict(dir + "/full.params").count("hybridsequential0_dense0_weight") == 1);

  auto net2 = make();  // hybridsequential1_...
  net2->load_parameters(dir + "/struct.params");
  CHECK((*net2)(x).to_vector<float>() == y.to_vector<float>());
  auto net3 = make();
  // Another prefix (hybridsequential2_): the full names do not match.
  CHECK_THROWS_WITH_AS(net3->collect_params().load(dir + "/full.params"), doctest::Contains("missing"), Error);
  net3->collect_params().load(dir + "/struct.params", true, true);  // nothing matches; allowed
  // Shape mismatch on load: an error, and nothing changes.
  auto other = std::make_shared<nn::HybridSequential>();
  {
    auto s = other->name_scope();
    other->emplace<nn::Dense>(nn::DenseOptions(4).in_units(5).activation("relu"));
    other->emplace<nn::Dense>(nn::DenseOptions(2).in_units(4));
  }
  other->initialize();
  auto before = other->collect_params().values()[1]->data().to_vector<float>();
  CHECK_THROWS_WITH_AS(other->load_parameters(dir + "/struct.params"), doctest::Contains("shape"), Error);
  CHECK(other->collect_params().values()[1]->data().to_vector<float>() == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("gluon params: errors name the parameter and block") {
  NameManager names;
  auto fc = std::make_shared<nn::Dense>(nn::DenseOptions(3).in_units(2));
  try {
    (*fc)(nd::ones({1, 2}));
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("dense0_weight") != std::string::npos);
    CHECK(m.find("block 'dense0'") != std::string::npos);
    CHECK(m.find("not been initialized") != std::string::npos);
  }
  fc->hybridize();
  CHECK_THROWS_WITH_AS((*fc)(nd::ones({1, 2})), doctest::Contains("not been initialized"), Error);
  fc->initialize();
  // Wrong input width: the trace's shape inference names the op and block.
  CHECK_THROWS_WITH_AS((*fc)(nd::ones({1, 5})), doctest::Contains("dense0"), Error);
  CHECK((*fc)(nd::ones({1, 2})).shape() == std::vector<int64_t>{1, 3});
  // Duplicate child names.
  auto seq = std::make_shared<nn::Sequential>();
  seq->register_child(std::make_shared<nn::Dense>(nn::DenseOptions(1)), "head");
  CHECK_THROWS_WITH_AS(seq->register_child(std::make_shared<nn::Dense>(nn::DenseOptions(1)), "head"),
                       doctest::Contains("already has a child named 'head'"), Error);
  // Incompatible shapes for an existing parameter.
  ParameterDict pd("x_");
  pd.get("w", ParamOptions().shape({2, 0}));
  CHECK(pd.get("w", ParamOptions().shape({2, 7}))->shape() == std::vector<int64_t>{2, 7});
  CHECK_THROWS_WITH_AS(pd.get("w", ParamOptions().shape({3, 7})), doctest::Contains("x_w"), Error);
}

TEST_CASE("gluon params: the serialization chapter (save_params / load_params)") {
  NameManager names;
  std::string dir = test::temp_dir();
  auto make = [] {
    auto net = std::make_shared<nn::Sequential>();
    auto s = net->name_scope();
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(256).activation("relu")));
    net->add(std::make_shared<nn::Dense>(nn::DenseOptions(1)));
    return net;
  };
  nd::random::seed(1);
  auto net = make();
  net->collect_params().initialize(init::Normal(1.0));
  NDArray y = (*net)(nd::ones({1, 100}));
  net->save_params(dir + "/testnet.params");
  CHECK(nd::load_dict(dir + "/testnet.params").count("dense0_weight") == 1);  // prefix stripped
  auto net2 = make();  // sequential1_...
  net2->load_params(dir + "/testnet.params");
  CHECK((*net2)(nd::ones({1, 100})).to_vector<float>() == y.to_vector<float>());
  std::filesystem::remove_all(dir);
}
