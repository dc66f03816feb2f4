// An hgc user's program, built against an installed hgc (find_package(hgc)):
//   hgc_consumer train OUT   a HybridSequential MLP hybridized and trained a few SGD steps on
//                            planted data (the loss must fall); exports OUT/mlp-symbol.json +
//                            OUT/mlp-0000.params and writes a batch and the net's output for it
//   hgc_consumer run LIB OUT loads LIB (made by `hgc compile OUT/mlp-symbol.json --emit=lib`)
//                            and checks its model_run() on that batch against the net's output
//   hgc_consumer check-npy OUT  checks OUT/got.npy (what a program made by `hgc compile
//                            --emit=exe` wrote for OUT/x.npy) against the net's output
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <hgc/compiler/imperative.h>
#include <hgc/hgc.h>
#include <string>
#include <vector>

using namespace hgc;
using namespace hgc::gluon;

namespace {
constexpr int64_t kBatch = 8, kIn = 20, kClasses = 4;

void write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
}
std::vector<float> read_floats(const std::string& path, size_t n) {
  std::vector<float> v(n);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (!f) throw std::runtime_error("cannot read " + path);
  return v;
}

int train(const std::string& out) {
  if (std::string(HGC_VERSION_STRING) != hgc::version()) {
    std::fprintf(stderr, "header version %s != library version %s\n", HGC_VERSION_STRING, hgc::version());
    return 1;
  }
  // The imperative kernels compiled at build time are in the installed library and run
  // without a JIT compile (on the machine that built them).
  hgc::PrebuiltKernelsInfo pk = hgc::prebuilt_kernels_info();
  std::printf("prebuilt imperative kernels: %lld%s\n", static_cast<long long>(pk.kernels),
              pk.usable ? "" : (" (not used: " + pk.reason + ")").c_str());
  if (pk.kernels > 0) {
    if (!pk.usable) return 1;
    hgc::HostTensor t(hgc::DType::f32, {3, 4});
    for (int i = 0; i < 12; ++i) t.data<float>()[i] = static_cast<float>(i);
    hgc::HostTensor r = hgc::invoke("_div_scalar", {{"scalar", "255"}}, {t})[0];
    hgc::KernelCacheStats ks = hgc::kernel_cache_stats();
    if (ks.prebuilt != 1 || ks.misses != 0 || std::fabs(r.data<float>()[11] - 11.f / 255.f) > 1e-6f) {
      std::fprintf(stderr, "FAIL: _div_scalar did not run its prebuilt kernel (prebuilt %lld, compiled %lld)\n",
                   static_cast<long long>(ks.prebuilt), static_cast<long long>(ks.misses));
      return 1;
    }
  }
  nd::random::seed(7);
  auto net = std::make_shared<nn::HybridSequential>();
  {
    auto s = net->name_scope();
    net->emplace<nn::Dense>(nn::DenseOptions(16).activation("relu"));
    net->emplace<nn::Dense>(nn::DenseOptions(kClasses));
  }
  net->initialize(init::Xavier());
  net->hybridize();
  // Planted data: the class is the argmax of the first kClasses features.
  NDArray x = nd::random::normal(0, 1, {kBatch, kIn});
  NDArray y = x.slice_axis(1, 0, kClasses).argmax(1);
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(net->collect_params(), "sgd", {{"learning_rate", 0.5}});
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    NDArray l;
    {
      auto rec = autograd::record();
      l = ce((*net)(x), y);
    }
    l.backward();
    trainer.step(kBatch);
    double mean = l.mean().to_vector<float>()[0];
    if (step == 0) first = mean;
    last = mean;
  }
  std::printf("hgc %s: loss %.4f -> %.4f over 30 hybridized steps\n", hgc::version(), first, last);
  if (!(last < 0.5 * first)) return 1;
  net->export_model(out + "/mlp");
  write_floats(out + "/x.bin", x.to_vector<float>());
  write_floats(out + "/y.bin", (*net)(x).to_vector<float>());
  nd::save_npy(out + "/x.npy", x);
  return 0;
}

int compare(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  if (got.size() != want.size()) {
    std::fprintf(stderr, "%s: %zu values, want %zu\n", what, got.size(), want.size());
    return 1;
  }
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, double(std::fabs(got[i] - want[i])));
  std::printf("%s == hybridized net: max |diff| %.3g\n", what, worst);
  return worst <= 1e-5 ? 0 : 1;
}

int check_npy(const std::string& out) {
  return compare(nd::load_npy(out + "/got.npy").to_vector<float>(), read_floats(out + "/y.bin", kBatch * kClasses),
                 "compiled program");
}

int run(const std::string& lib, const std::string& out) {
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    std::fprintf(stderr, "dlopen %s: %s\n", lib.c_str(), dlerror());
    return 1;
  }
  using Run = int (*)(const float* const*, float* const*);
  using LastError = const char* (*)();
  auto model_run = reinterpret_cast<Run>(dlsym(h, "model_run"));
  auto model_last_error = reinterpret_cast<LastError>(dlsym(h, "model_last_error"));
  if (!model_run || !model_last_error) {
    std::fprintf(stderr, "%s lacks the model_* C API\n", lib.c_str());
    return 1;
  }
  std::vector<float> x = read_floats(out + "/x.bin", kBatch * kIn), want = read_floats(out + "/y.bin", kBatch * kClasses);
  std::vector<float> got(want.size());
  const float* ins[] = {x.data()};
  float* outs[] = {got.data()};
  if (model_run(ins, outs) != 0) {
    std::fprintf(stderr, "model_run: %s\n", model_last_error());
    return 1;
  }
  return compare(got, want, "compiled library");
}
}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "train") return train(argv[2]);
    if (argc == 4 && std::string(argv[1]) == "run") return run(argv[2], argv[3]);
    if (argc == 3 && std::string(argv[1]) == "check-npy") return check_npy(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: hgc_consumer train OUT | run LIB OUT | check-npy OUT\n");
  return 2;
}
