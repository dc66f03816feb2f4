// A tqdm-like progress bar for training loops. On a terminal it redraws one line in place
// ('\r'); otherwise (a log file, a pipe, CI) it prints a plain line every total/lines batches
// and at the end, so logs stay short.
//
//   utils::ProgressBar bar(loader.num_batches(), utils::ProgressOptions().desc("epoch 1/5"));
//   for (const auto& b : loader) {
//     ... train ...
//     bar.set_postfix({{"loss", running_loss}, {"acc", acc.get().second}});
//     bar.update(1, b[0].shape()[0]);       // one batch of that many items
//   }
//   bar.close();
//
//   epoch 1/5 |#########-----------| 420/938 [00:03, 8123.4 items/s] loss=0.5123 acc=0.8102
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace hgc::gluon::utils {

struct ProgressOptions {
  std::string desc_;
  std::ostream* out_ = nullptr;    // null: std::cout
  std::optional<bool> terminal_;   // unset: whether stdout is a terminal (isatty), when out is std::cout
  int width_ = 20;                 // bar cells
  int lines_ = 10;                 // plain output: about this many lines over a known total
  int64_t every_ = 100;            // plain output with an unknown total: a line every this many batches
  double min_interval_s_ = 0.1;    // terminal: redraw at most this often (the last batch always)
  ProgressOptions& desc(std::string d) { desc_ = std::move(d); return *this; }
  ProgressOptions& out(std::ostream& o) { out_ = &o; return *this; }
  ProgressOptions& terminal(bool t) { terminal_ = t; return *this; }
  ProgressOptions& width(int w) { width_ = w; return *this; }
  ProgressOptions& lines(int n) { lines_ = n; return *this; }
  ProgressOptions& every(int64_t n) { every_ = n; return *this; }
  ProgressOptions& min_interval(double s) { min_interval_s_ = s; return *this; }
};

class ProgressBar {
 public:
  // `total` batches (<= 0: unknown, no bar). Throws for width, lines or every < 1.
  explicit ProgressBar(int64_t total, ProgressOptions o = {});
  ~ProgressBar();  // close()s
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // `batches` more done, holding `items` samples (0: the rate counts batches, "it/s").
  void update(int64_t batches = 1, int64_t items = 0);
  // Shown after the rate as name=value (4 significant digits), in this order.
  void set_postfix(std::vector<std::pair<std::string, double>> values);
  void set_description(std::string d) { o_.desc_ = std::move(d); }
  // Draws the final state and ends the line; later calls do nothing.
  void close();
  // The status text as it would be drawn now.
  std::string line() const;
  int64_t count() const { return n_; }
  bool terminal() const { return tty_; }

 private:
  void draw(bool final);
  ProgressOptions o_;
  std::ostream* out_;
  bool tty_;
  int64_t total_, n_ = 0, items_ = 0, next_line_ = 0;
  std::vector<std::pair<std::string, double>> postfix_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  size_t last_len_ = 0;
  bool drawn_once_ = false, closed_ = false;
  int64_t printed_at_ = -1;  // plain output: the count of the last line
};

}  // namespace hgc::gluon::utils
