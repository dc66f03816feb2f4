// ProgressBar: formats one status line; a terminal gets it redrawn in place, other streams
// get it at fixed batch counts (deterministic, so logs and tests do not depend on timing).
#include "hgc/frontend/gluon/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "hgc/base/error.h"

namespace hgc::gluon::utils {

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string clock_str(double s) {
  auto t = static_cast<int64_t>(s);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}
}  // namespace

ProgressBar::ProgressBar(int64_t total, ProgressOptions o)
    : o_(std::move(o)), out_(o_.out_ ? o_.out_ : &std::cout), total_(total > 0 ? total : 0) {
  if (o_.width_ < 1 || o_.lines_ < 1 || o_.every_ < 1)
    fail("progress", "width, lines and every must be >= 1 (got ", o_.width_, ", ", o_.lines_, ", ", o_.every_, ")");
  tty_ = o_.terminal_ ? *o_.terminal_ : (out_ == &std::cout && isatty(STDOUT_FILENO));
  int64_t step = total_ > 0 ? std::max<int64_t>(1, (total_ + o_.lines_ - 1) / o_.lines_) : o_.every_;
  next_line_ = step;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  try {
    close();
  } catch (...) {  // a destructor must not throw (a closed stream, say)
  }
}

void ProgressBar::set_postfix(std::vector<std::pair<std::string, double>> values) { postfix_ = std::move(values); }

std::string ProgressBar::line() const {
  std::string s = o_.desc_;
  if (!s.empty()) s += ' ';
  if (total_ > 0) {
    int64_t filled = std::min<int64_t>(o_.width_, n_ * o_.width_ / total_);
    s += '|' + std::string(filled, '#') + std::string(o_.width_ - filled, '-') + "| ";
    s += std::to_string(n_) + '/' + std::to_string(total_);
  } else {
    s += std::to_string(n_) + " batches";
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const char* unit = items_ > 0 ? " items/s" : " it/s";
  double amount = items_ > 0 ? static_cast<double>(items_) : static_cast<double>(n_);
  s += " [" + clock_str(secs) + ", " + (secs > 0 ? fmt("%.1f", amount / secs) : std::string("?")) + unit + ']';
  for (const auto& [k, v] : postfix_) s += ' ' + k + '=' + fmt("%.4g", v);
  return s;
}

void ProgressBar::draw(bool final) {
  std::string s = line();
  if (tty_) {
    // Pad with spaces so a shorter line erases the end of the previous one.
    std::string pad = s.size() < last_len_ ? std::string(last_len_ - s.size(), ' ') : "";
    *out_ << '\r' << s << pad;
    if (final) *out_ << '\n';
    out_->flush();
    last_len_ = s.size();
  } else {
    *out_ << s << '\n';
    printed_at_ = n_;
  }
  drawn_once_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(int64_t batches, int64_t items) {
  if (closed_) fail("progress", "update after close()");
  if (batches < 0 || items < 0) fail("progress", "update: negative counts (", batches, ", ", items, ")");
  n_ += batches;
  items_ += items;
  if (tty_) {
    double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_draw_).count();
    if (!drawn_once_ || since >= o_.min_interval_s_ || (total_ > 0 && n_ >= total_)) draw(false);
    return;
  }
  if (n_ >= next_line_) {
    int64_t step = total_ > 0 ? std::max<int64_t>(1, (total_ + o_.lines_ - 1) / o_.lines_) : o_.every_;
    while (next_line_ <= n_) next_line_ += step;
    draw(false);
  }
}

void ProgressBar::close() {
  if (closed_) return;
  closed_ = true;
  if (tty_) draw(true);
  else if (printed_at_ != n_) draw(true);
}

}  // namespace hgc::gluon::utils
