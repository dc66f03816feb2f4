// Gluon on gpu contexts: parameters initialized on (or moved to) gpu(0), hybridized blocks
// compiled for the context of their inputs, and the PTX of both the imperative op plans and
// hybridized Dense/Conv nets. Without a driver the device cases skip with a message; the
// parent case at the end reruns them in a child against tests/fake_cuda (copies only: the
// cases that need kernels stop where the stand-in loads no PTX, and say so). The cases that
// compare against cpu need a real GPU (scripts/gpu_check.sh).
#include <doctest/doctest.h>

#include <regex>

#include "hgc/compiler/gpu_imperative.h"
#include "hgc/frontend/autograd/autograd.h"
#include "hgc/hgc.h"
#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/runtime/tensor_io.h"
#include "support/gpu_device.h"
#include "support/paths.h"
#include "support/ptx_check.h"

using namespace hgc;
using namespace hgc::gluon;

namespace {

// HybridSequential(Dense(16, in 8), Activation(relu), Dense(3, in 16)).
std::shared_ptr<nn::HybridSequential> mlp() {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(16).in_units(8)));
  net->add(std::make_shared<nn::Activation>("relu"));
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(3).in_units(16)));
  return net;
}

// HybridSequential(Conv2D(4, 3x3, relu), Flatten, Dense(5)) on (2, 2, 6, 6) inputs.
std::shared_ptr<nn::HybridSequential> convnet() {
  auto net = std::make_shared<nn::HybridSequential>();
  auto scope = net->name_scope();
  net->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(4, {3, 3}).in_channels(2).activation("relu")));
  net->add(std::make_shared<nn::Flatten>());
  net->add(std::make_shared<nn::Dense>(nn::DenseOptions(5).in_units(64)));
  return net;
}

NDArray input(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * float(i % 17) - 0.4f;
  return nd::array(v, shape);
}

void check_close(const NDArray& got, const NDArray& want, const std::string& what) {
  CAPTURE(what);
  REQUIRE(got.shape() == want.shape());
  std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < w.size(); ++i) CHECK(g[i] == doctest::Approx(w[i]).epsilon(1e-4).scale(1));
}

// The graph a hybridized block traces for input `x` (what CachedGraph compiles for the
// device), through export: shapes of the data and the parameters inferred.
Graph traced_graph(nn::HybridSequential& net, const NDArray& x, const std::string& tag) {
  net.hybridize();
  net(x);
  std::string base = test::temp_dir() + "/" + tag;
  net.export_model(base);
  Graph g = load_json_file(base + "-symbol.json");
  InferOptions io;
  io.shapes["data"] = Shape(x.shape());
  for (auto& [name, t] : load_params(base + "-0000.params")) io.shapes[strip_param_prefix(name)] = Shape(t.shape());
  infer(g, io);
  return g;
}

}  // namespace

TEST_CASE("gluon gpu: without a device, initializing parameters on gpu(0) is an hgc::Error naming the context") {
  if (cuda::available()) {
    MESSAGE("SKIP no-driver path: a CUDA driver is loaded");
    return;
  }
  auto net = mlp();
  CHECK_THROWS_WITH_AS(net->initialize(init::Xavier(), gpu(0)), doctest::Contains("context gpu(0) is not available"),
                       Error);
  net->initialize(init::Xavier());
  CHECK_THROWS_WITH_AS(net->collect_params().reset_ctx(gpu(0)), doctest::Contains("context gpu(0) is not available"),
                       Error);
  for (const auto& p : net->collect_params().values()) CHECK(p->data().context() == cpu(0));
}

TEST_CASE("gluon gpu: parameters initialized on gpu(0) hold the cpu initializer's values bit for bit") {
  if (!cuda::available()) {
    MESSAGE("SKIP: no CUDA device: " << cuda::unavailable_reason());
    return;
  }
  nd::random::seed(11);
  Parameter pc("w", ParamOptions().shape({3, 4}));
  pc.initialize(init::Xavier());
  nd::random::seed(11);
  Parameter pg("w", ParamOptions().shape({3, 4}));
  pg.initialize(init::Xavier(), gpu(0));
  CHECK(pg.context() == gpu(0));
  CHECK(pg.list_ctx() == std::vector<Context>{gpu(0)});
  REQUIRE(pg.data().context() == gpu(0));
  CHECK(pg.data().on_device());
  CHECK(pg.data().to_vector<float>() == pc.data().to_vector<float>());
  CHECK(pg.grad().context() == gpu(0));
  CHECK(pg.grad().to_vector<float>() == std::vector<float>(12, 0.f));
  // reset_ctx moves the values; the gradient starts again at zeros on the new context.
  pg.reset_ctx(cpu());
  CHECK(pg.data().context() == cpu(0));
  CHECK(!pg.data().on_device());
  CHECK(pg.grad().context() == cpu(0));
  CHECK(pg.data().to_vector<float>() == pc.data().to_vector<float>());
  pg.reset_ctx(gpu(0));
  CHECK(pg.data().context() == gpu(0));
  CHECK(pg.data().to_vector<float>() == pc.data().to_vector<float>());
  // set_data keeps the parameter's context.
  pg.set_data(nd::ones({3, 4}));
  CHECK(pg.data().context() == gpu(0));
  CHECK(pg.data().to_vector<float>() == std::vector<float>(12, 1.f));

  // A block: every parameter on gpu(0); a deferred one lands there once its shape is known.
  nd::random::seed(5);
  auto cpu_net = mlp();
  cpu_net->initialize(init::Xavier());
  nd::random::seed(5);
  auto net = mlp();
  net->initialize(init::Xavier(), gpu(0));
  auto cps = cpu_net->collect_params().values(), gps = net->collect_params().values();
  REQUIRE(gps.size() == 4);
  for (size_t i = 0; i < gps.size(); ++i) {
    CAPTURE(gps[i]->name());
    CHECK(gps[i]->data().context() == gpu(0));
    CHECK(gps[i]->grad().context() == gpu(0));
    CHECK(gps[i]->data().to_vector<float>() == cps[i]->data().to_vector<float>());
  }
  auto deferred = std::make_shared<nn::Dense>(nn::DenseOptions(2));
  deferred->initialize(init::Xavier(), gpu(0));
  CHECK(deferred->weight->deferred());
  deferred->weight->set_shape({2, 5});
  deferred->weight->finish_deferred_init();
  CHECK(deferred->weight->data().context() == gpu(0));
  // Saved from the device, loaded on the host: the same values.
  std::string file = test::temp_dir() + "/gpu_params.params";
  net->save_parameters(file);
  auto back = mlp();
  back->load_parameters(file);
  auto bps = back->collect_params().values();
  for (size_t i = 0; i < bps.size(); ++i) {
    CHECK(bps[i]->data().context() == cpu(0));
    CHECK(bps[i]->data().to_vector<float>() == cps[i]->data().to_vector<float>());
  }
  net->collect_params().reset_ctx(cpu());
  for (const auto& p : gps) CHECK(p->data().context() == cpu(0));
}

TEST_CASE("gluon gpu fake: a hybridized block called with gpu inputs compiles for the device and runs there") {
  if (!test::fake_gpu()) return;
  // Dense(16) + relu + Dense(3): the plan is built (cuBLAS calls and a relu kernel); loading
  // its PTX is where the stand-in stops, naming the block.
  auto net = mlp();
  net->initialize(init::Xavier(), gpu(0));
  net->hybridize();
  NDArray x = input({4, 8}).copyto(gpu(0));
  CHECK_THROWS_WITH_AS((*net)(x), doctest::Contains(("hybridized block '" + net->name() + "': [cuda] cannot load the PTX").c_str()),
                       Error);
  // A block of views only (Flatten): a plan without kernels, which the stand-in runs.
  auto flat = std::make_shared<nn::HybridSequential>();
  flat->add(std::make_shared<nn::Flatten>());
  flat->hybridize();
  NDArray c = input({2, 3, 4});
  NDArray y = (*flat)(c.copyto(gpu(0)));
  CHECK(y.context() == gpu(0));
  CHECK(y.shape() == std::vector<int64_t>{2, 12});
  CHECK(y.to_vector<float>() == c.to_vector<float>());
  CHECK((*flat)(c.copyto(gpu(0))).to_vector<float>() == c.to_vector<float>());
  CHECK(flat->cache_stats().misses == 1);
  CHECK(flat->cache_stats().hits == 1);
  // The same shapes on cpu: another cache entry, run on the host.
  NDArray yc = (*flat)(c);
  CHECK(yc.context() == cpu(0));
  CHECK(flat->cache_stats().misses == 2);
  // A SymbolBlock too: compiled for the context of its inputs.
  Graph g;
  int data = g.add_variable("data");
  g.heads.push_back({g.add_node("Flatten", "flat", {{data, 0}}), 0});
  auto sb = std::make_shared<SymbolBlock>(g, std::vector<std::string>{"data"});
  NDArray ys = (*sb)(c.copyto(gpu(0)));
  CHECK(ys.context() == gpu(0));
  CHECK(ys.to_vector<float>() == c.to_vector<float>());
  CHECK((*sb)(c).context() == cpu(0));
  // A dense layer without bias is one cuBLAS call and no kernel: the plan loads, the
  // parameters are bound from the device, and cuBLAS is what the stand-in lacks.
  auto fc = std::make_shared<nn::Dense>(nn::DenseOptions(3).in_units(8).use_bias(false));
  fc->initialize(init::Xavier(), gpu(0));
  fc->hybridize();
  CHECK_THROWS_WITH_AS((*fc)(x), doctest::Contains(("hybridized block '" + fc->name() + "' on gpu(0): [cuda]").c_str()), Error);
  // Parameters on another context than the inputs: MXNet's error, naming both.
  fc->collect_params().reset_ctx(cpu());
  CHECK_THROWS_WITH_AS((*fc)(x), doctest::Contains(("parameter '" + fc->weight->name() + "' lives on cpu(0) but the block runs on gpu(0)").c_str()),
                       Error);
  CHECK_THROWS_WITH_AS((*fc)(std::vector<NDArray>{x, input({4, 8})}), doctest::Contains("input 0 lives on gpu(0) and input 1 on cpu(0)"),
                       Error);
  // Autograd on gpu is refused with a clear error, hybridized or not.
  {
    auto rec = autograd::record();
    CHECK_THROWS_WITH_AS((*flat)(c.copyto(gpu(0))), doctest::Contains("autograd on gpu contexts is not supported yet"),
                         Error);
  }
}

TEST_CASE("gluon gpu: a hybridized HybridSequential(Dense, Activation, Dense) on gpu(0) equals cpu") {
  if (!test::real_gpu()) return;
  nd::random::seed(3);
  auto net = mlp();
  net->initialize(init::Xavier());
  NDArray x = input({4, 8});
  NDArray want = (*net)(x);  // imperative, cpu
  net->collect_params().reset_ctx(gpu(0));
  NDArray imperative = (*net)(x.copyto(gpu(0)));  // op by op on the device
  CHECK(imperative.context() == gpu(0));
  check_close(imperative, want, "imperative on gpu(0)");
  net->hybridize();
  NDArray got = (*net)(x.copyto(gpu(0)));
  CHECK(got.context() == gpu(0));
  check_close(got, want, "hybridized on gpu(0)");
  check_close((*net)(x.copyto(gpu(0))), want, "hybridized on gpu(0), cached");
  CHECK(net->cache_stats().hits == 1);
  // A convolution net too (the generated direct convolution kernel).
  nd::random::seed(4);
  auto conv = convnet();
  conv->initialize(init::Xavier());
  NDArray xc = input({2, 2, 6, 6});
  NDArray wc = (*conv)(xc);
  conv->collect_params().reset_ctx(gpu(0));
  conv->hybridize();
  check_close((*conv)(xc.copyto(gpu(0))), wc, "conv net hybridized on gpu(0)");
}

TEST_CASE("gpu codegen: the imperative plans of NDArray ops on gpu contexts pass ptxas") {
  if (!test::gpu_toolkit_present()) return;
  using Shapes = std::vector<std::vector<int64_t>>;
  struct OpCase {
    std::string op;
    AttrMap attrs;
    Shapes shapes;
  };
  const std::vector<OpCase> cases = {
      {"broadcast_add", {}, {{3, 4}, {1, 4}}},
      {"broadcast_mul", {}, {{3, 4}, {3, 4}}},
      {"broadcast_div", {}, {{3, 4}, {3, 1}}},
      {"_plus_scalar", {{"scalar", 3.0}}, {{3, 4}}},
      {"_mul_scalar", {{"scalar", 2.5}}, {{3, 4}}},
      {"exp", {}, {{3, 4}}},
      {"Activation", {{"act_type", std::string("relu")}}, {{3, 4}}},
      {"sum", {{"axis", std::vector<int64_t>{1}}}, {{3, 4}}},
      {"mean", {}, {{3, 4}}},
      {"max", {{"axis", std::vector<int64_t>{0}}}, {{3, 4}}},
      {"softmax", {}, {{3, 40}}},
      {"transpose", {}, {{3, 4}}},
      {"dot", {}, {{3, 4}, {4, 3}}},
      {"FullyConnected", {{"num_hidden", int64_t(3)}}, {{4, 4}, {3, 4}, {3}}},
      {"Concat", {{"dim", int64_t(0)}, {"num_args", int64_t(2)}}, {{3, 4}, {1, 4}}},
      {"argmax", {{"axis", int64_t(1)}}, {{3, 4}}},
      {"slice_axis", {{"axis", int64_t(1)}, {"begin", int64_t(1)}, {"end", int64_t(3)}}, {{3, 4}}},
      {"Reshape", {{"shape", std::vector<int64_t>{4, 3}}}, {{3, 4}}},
  };
  for (const OpCase& c : cases) {
    CAPTURE(c.op);
    std::vector<DType> dtypes(c.shapes.size(), DType::f32);
    std::shared_ptr<const GpuPlan> p;
    try {
      p = imperative_gpu_plan(c.op, c.attrs, c.shapes, dtypes);
    } catch (const Error& e) {
      FAIL_CHECK(c.op << ": " << e.what());
      continue;
    }
    test::check_gpu_plan(*p, c.op);
  }
  // The Cast of astype to another dtype.
  test::check_gpu_plan(*imperative_gpu_plan("Cast", {{"dtype", std::string("int32")}}, {{3, 4}}, {DType::f32}), "Cast");
}

TEST_CASE("gpu codegen: the traced graphs of hybridized Dense and Conv nets pass ptxas") {
  if (!test::gpu_toolkit_present()) return;
  nd::random::seed(1);
  auto net = mlp();
  net->initialize(init::Xavier());
  GpuPlan p = compile_gpu_plan(traced_graph(*net, input({4, 8}), "gpu_mlp"));
  int library = 0;
  for (const Step& s : p.exe->steps) library += s.call.kind == "fully_connected" ? 1 : 0;
  CHECK(library == 2);  // the dense layers on cuBLAS
  CHECK(test::check_gpu_plan(p, "hybridized mlp") >= 1);
  auto conv = convnet();
  conv->initialize(init::Xavier());
  GpuPlan q = compile_gpu_plan(traced_graph(*conv, input({2, 2, 6, 6}), "gpu_conv"));
  CHECK(q.library_kernels.size() == 1);  // the convolution as a generated kernel
  CHECK(test::check_gpu_plan(q, "hybridized conv net") >= 1);
}

TEST_CASE("gluon gpu: the device cases pass against a host-memory fake driver (copies and refusals only, no GPU)") {
  if (cuda::available()) {
    MESSAGE("SKIP fake-driver run: a CUDA driver is loaded (the device cases ran on it)");
    return;
  }
  test::Shell r = test::run_on_fake_driver("gluon gpu: parameters*,gluon gpu fake:*");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("SKIP") == std::string::npos);
  CHECK(std::regex_search(r.out, std::regex("test cases: +2 \\| +2 passed \\| +0 failed")));
}
