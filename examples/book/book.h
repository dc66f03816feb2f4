// Shared scaffolding of the Straight Dope chapter programs (examples/book/*.cc): arguments
// (--quick for the test budget, --epochs, --seed, --out, --help), the chapter's claims
// (each printed as it is checked; any failed claim makes the program exit 1, which is what
// the chapter's CTest asserts) and the data stand-ins (Fashion-MNIST from Debian's
// dataset-fashion-mnist for the book's MNIST; seeded synthetic data elsewhere).
//
//   int main(int argc, char** argv) {
//     book::Chapter ch(argc, argv, "Linear regression", "what the book used / what stands in");
//     if (ch.help) return 0;
//     ...
//     ch.claim(loss_end < 0.1 * loss_start, "the loss falls tenfold: ", loss_start, " -> ", loss_end);
//     return ch.finish();
//   }
#pragma once
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "hgc/hgc.h"

namespace book {

using namespace hgc;

class Chapter {
 public:
  // `usage_extra` lists program-specific flags for --help.
  Chapter(int argc, char** argv, std::string title, std::string data_note, std::string usage_extra = "")
      : title_(std::move(title)) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) bad("missing value after " + a);
        return argv[++i];
      };
      if (a == "-h" || a == "--help") {
        std::printf("usage: %s [--quick] [--epochs N] [--seed S] [--out DIR]%s\n\n%s\n  data: %s\n"
                    "  --quick: the test's small budget; exits 1 when a claim of the chapter fails\n",
                    argv[0], usage_extra.c_str(), title_.c_str(), data_note.c_str());
        help = true;
        return;
      } else if (a == "--quick") {
        quick = true;
      } else if (a == "--epochs") {
        epochs = positive(next(), "--epochs");
      } else if (a == "--seed") {
        seed = positive(next(), "--seed");
      } else if (a == "--out") {
        out = next();
      } else if (a.rfind("--", 0) == 0 && i + 1 < argc && argv[i + 1][0] != '-') {
        extra.emplace_back(a, argv[++i]);  // program-specific flags
      } else if (a.rfind("--", 0) == 0) {
        extra.emplace_back(a, "");
      } else {
        bad("unexpected argument '" + a + "'");
      }
    }
    std::filesystem::create_directories(out);
    nd::random::seed(seed);
    std::printf("== %s ==\n  data: %s\n", title_.c_str(), data_note.c_str());
    start_ = std::chrono::steady_clock::now();
  }

  // A program flag's value ("" when absent or given without a value).
  std::string flag(const std::string& name, const std::string& dflt = "") const {
    for (const auto& [k, v] : extra)
      if (k == name) return v;
    return dflt;
  }
  bool has(const std::string& name) const {
    for (const auto& [k, v] : extra)
      if (k == name) return true;
    return false;
  }
  // e.g. ch.budget(2, 10): 2 in --quick mode, else --epochs or 10.
  int budget(int quick_value, int full_value) const { return epochs > 0 ? epochs : quick ? quick_value : full_value; }
  std::string path(const std::string& file) const { return (std::filesystem::path(out) / file).string(); }

  template <class... A>
  bool claim(bool ok, const A&... what) {
    std::ostringstream os;
    (os << ... << what);
    std::printf("  [%s] %s\n", ok ? "ok" : "FAIL", os.str().c_str());
    std::fflush(stdout);
    if (!ok) ++failed_;
    ++claims_;
    return ok;
  }

  int finish() const {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::printf("== %s: %d/%d claims hold (%.1f s) ==\n", title_.c_str(), claims_ - failed_, claims_, s);
    return failed_ ? 1 : 0;
  }

  bool help = false, quick = false;
  int epochs = 0;
  uint64_t seed = 1;
  std::string out = "book-out";
  std::vector<std::pair<std::string, std::string>> extra;

 private:
  [[noreturn]] static void bad(const std::string& m) {
    std::fprintf(stderr, "error: %s (see --help)\n", m.c_str());
    std::exit(2);
  }
  static int positive(const std::string& s, const char* what) {
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || v < 1) bad(std::string(what) + " needs a positive integer, got '" + s + "'");
    return static_cast<int>(v);
  }
  std::string title_;
  int claims_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// Fashion-MNIST as the book's MNIST pipeline gives it: images float32 in [0, 1], flattened
// (N, 784) or as images (N, 1, 28, 28), labels float32; at most `limit` samples (0: all).
struct Mnist {
  NDArray x, y;
};
inline bool have_fashion() {
  return gluon::data::vision::mnist_files_present(gluon::data::vision::FashionMNIST::default_root());
}
inline Mnist fashion(bool train, int64_t limit, bool images = false) {
  gluon::data::vision::FashionMNIST ds(gluon::data::vision::FashionMNIST::default_root(), train);
  int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
  NDArray x = ds.images().slice(0, n).astype(DType::f32) / 255.0;
  x = images ? nd::transpose(x, {0, 3, 1, 2}) : x.reshape({n, 784});
  return {x, ds.labels().slice(0, n).astype(DType::f32)};
}

// Accuracy of argmax(net(x)) against y, in predict mode, in chunks of 1000.
template <class Net>
double accuracy(Net&& net, const NDArray& x, const NDArray& y) {
  gluon::metric::Accuracy acc;
  int64_t n = x.shape()[0];
  for (int64_t b = 0; b < n; b += 1000) {
    int64_t e = std::min(n, b + 1000);
    acc.update(y.slice(b, e), net(x.slice(b, e)));
  }
  return acc.get().second;
}

// The mean of a per-sample loss array as a double.
inline double mean(const NDArray& l) { return nd::mean(l).asscalar<double>(); }

// Skips a chapter whose data is missing: prints why and exits 0 with no claims (ctest shows
// the message); only for data the project does not install itself.
inline int skip(const std::string& why) {
  std::printf("  [skip] %s\n", why.c_str());
  return 0;
}

}  // namespace book
