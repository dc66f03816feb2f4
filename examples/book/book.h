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

// A character corpus for the char-level language models: the book used "The Time Machine";
// every Debian system has the license texts in /usr/share/common-licenses (GPL-3 by default).
struct Corpus {
  std::string text;
  std::vector<char> idx_to_char;
  std::vector<int> char_to_idx = std::vector<int>(256, -1);
  std::vector<float> indices;  // the text as vocabulary indices
  int64_t vocab() const { return static_cast<int64_t>(idx_to_char.size()); }
};
inline Corpus load_corpus(const std::string& path = "/usr/share/common-licenses/GPL-3", size_t max_chars = 0) {
  Corpus c;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return c;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) c.text.append(buf, n);
  std::fclose(f);
  if (max_chars && c.text.size() > max_chars) c.text.resize(max_chars);
  for (unsigned char ch : c.text)
    if (c.char_to_idx[ch] < 0) c.char_to_idx[ch] = static_cast<int>(c.idx_to_char.size()), c.idx_to_char.push_back(static_cast<char>(ch));
  for (unsigned char ch : c.text) c.indices.push_back(static_cast<float>(c.char_to_idx[ch]));
  return c;
}
// The perplexity of predicting each character from its frequency alone (the bar a language
// model must beat).
inline double unigram_perplexity(const Corpus& c) {
  std::vector<double> cnt(c.vocab(), 0);
  for (float i : c.indices) cnt[static_cast<size_t>(i)] += 1;
  double h = 0, n = static_cast<double>(c.indices.size());
  for (double k : cnt) if (k > 0) h -= k / n * std::log(k / n);
  return std::exp(h);
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

// The Gluon training loop every gluon chapter writes out: for each batch, record the loss of
// net(data) against label, backward, trainer.step(batch size). Returns the mean loss per epoch.
template <class Net, class Loss>
std::vector<double> fit(Net& net, gluon::data::DataLoader& loader, Loss& loss_fn, gluon::Trainer& trainer, int epochs) {
  std::vector<double> per_epoch;
  for (int e = 0; e < epochs; ++e) {
    double total = 0;
    int64_t n = 0;
    for (const auto& batch : loader) {
      NDArray l;
      {
        auto rec = autograd::record();
        l = loss_fn(net(batch[0]), batch[1]);
      }
      l.backward();
      int64_t bs = batch[0].shape()[0];
      trainer.step(static_cast<double>(bs));
      total += nd::sum(l).asscalar<double>();
      n += bs;
    }
    per_epoch.push_back(total / std::max<int64_t>(1, n));
    std::printf("  epoch %d: loss %.4f\n", e + 1, per_epoch.back());
  }
  return per_epoch;
}

// The mean of a per-sample loss array as a double.
inline double mean(const NDArray& l) { return nd::mean(l).asscalar<double>(); }

// A line plot as a small SVG (the book's matplotlib figures): each series scaled into one box.
// Returns whether the file was written.
inline bool write_svg_plot(const std::string& path, const std::string& title,
                           const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  double lo = 1e300, hi = -1e300;
  size_t n = 0;
  for (const auto& [_, v] : series)
    for (double d : v) lo = std::min(lo, d), hi = std::max(hi, d), n = std::max(n, v.size());
  if (n < 2 || !(hi >= lo)) return false;
  if (hi == lo) hi = lo + 1;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  const char* colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e"};
  std::fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='480' height='320'>\n"
                  "<rect width='480' height='320' fill='white'/><text x='10' y='18' font-size='14'>%s</text>\n", title.c_str());
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& v = series[k].second;
    std::fprintf(f, "<polyline fill='none' stroke='%s' points='", colors[k % 4]);
    for (size_t i = 0; i < v.size(); ++i)
      std::fprintf(f, "%.1f,%.1f ", 40 + 420.0 * i / (n - 1), 300 - 260 * (v[i] - lo) / (hi - lo));
    std::fprintf(f, "'/><text x='360' y='%zu' font-size='12' fill='%s'>%s</text>\n", 40 + 16 * k, colors[k % 4],
                 series[k].first.c_str());
  }
  std::fprintf(f, "</svg>\n");
  return std::fclose(f) == 0;
}

// Skips a chapter whose data is missing: prints why and exits 0 with no claims (ctest shows
// the message); only for data the project does not install itself.
inline int skip(const std::string& why) {
  std::printf("  [skip] %s\n", why.c_str());
  return 0;
}

}  // namespace book
