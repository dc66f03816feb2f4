// Host buffers whose every write is announced: a frontend Parameter's values, a loaded
// plan's constants (an AOT program's weights). For them the runtime may keep forms derived
// from the contents (a GEMM's weights packed into oneDNN's blocked layout,
// runtime/src/gemm_packed.cc) and reuse them until the next announced write. Library calls
// get bare pointers per call; only this registry tells them that a pointer is such a buffer
// and whether it changed (its generation). Memory that is not announced is never assumed
// unchanged.
//
//   auto reg = stable::announce(w, bytes);   // until `reg` goes, [w, w+bytes) is stable
//   stable::note_write(p, n);                // after every in-place write that may touch it
//   if (auto r = stable::find(w, bytes)) r->generation();   // in a library call
//
// The owner promises the announcements: the frontend notes every in-place write through the
// NDArray API (nd_detail::note_write, optimizer updates, kvstore receives) and
// Parameter::mark_dirty after raw writes. A write must be noted after it completes (a note
// before only is not enough: a call deriving a form meanwhile would read the old bytes under
// the new generation); derived forms are exact for writes not concurrent with the call.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace hgc::stable {

class Range {
 public:
  Range(const char* b, const char* e) : begin_(b), end_(e) {}
  Range(const Range&) = delete;
  Range& operator=(const Range&) = delete;
  const char* begin() const { return begin_; }
  const char* end() const { return end_; }
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }
  void bump() { gen_.fetch_add(1, std::memory_order_acq_rel); }

  // The form `key` derived from the contents at the current generation: the kept one, or
  // make()'s result (kept for later calls; the generation is read before make() runs, so a
  // write during it makes the next call derive again). Concurrent callers of one key wait.
  std::shared_ptr<const void> form(const std::string& key, const std::function<std::shared_ptr<const void>()>& make);
  // How many forms were made so far (for tests: a kept form costs no new one).
  int64_t forms_made() const { return made_.load(); }

 private:
  const char* begin_;
  const char* end_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int64_t> made_{0};
  struct Form {
    uint64_t gen;
    std::shared_ptr<const void> value;
  };
  std::mutex mu_;
  std::map<std::string, Form> forms_;
};

// Announces [p, p+n) as stable until the returned handle goes (find() stops finding it then,
// even while a call still holds the Range). The caller keeps the memory itself alive at least
// as long (else another allocation at that address would pass as it).
class Announcement {
 public:
  explicit Announcement(std::shared_ptr<Range> r) : range_(std::move(r)) {}
  ~Announcement();
  Announcement(const Announcement&) = delete;
  Announcement& operator=(const Announcement&) = delete;
  Range& range() const { return *range_; }

 private:
  std::shared_ptr<Range> range_;
};
std::unique_ptr<Announcement> announce(const void* p, size_t n);
// Bumps the generation of every announced range that overlaps [p, p+n).
void note_write(const void* p, size_t n);
// The live announced range that contains all of [p, p+n), or null.
std::shared_ptr<Range> find(const void* p, size_t n);

}  // namespace hgc::stable
