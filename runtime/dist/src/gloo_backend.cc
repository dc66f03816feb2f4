// The gloo backend: TCP pairs between every two ranks (gloo's full mesh), found through a
// FileStore or RedisStore, and gloo's own collectives (ring allreduce, ...).
//
// Naming the peer on failure: gloo reports a closed or reset connection with the peer's
// listening address ("Connection closed by peer [127.0.0.1]:40731"), so after rendezvous
// every rank learns every rank's listening port and maps an address in a message back to a
// rank. A timeout names no address; in a world of two the peer is still obvious.
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/redis_store.h>
#include <gloo/transport/tcp/address.h>
#include <gloo/transport/tcp/device.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "backends.h"
#include "hgc/base/error.h"

namespace hgc::dist::detail {

namespace {

void make_dirs(const std::string& dir) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST)
        fail("dist", "gloo rendezvous directory '", path, "': ", std::strerror(errno));
    }
  }
}

std::shared_ptr<gloo::rendezvous::Store> open_store(const Options& o) {
  const std::string& r = o.rendezvous;
  if (r.rfind("file:", 0) == 0) {
    std::string dir = r.substr(5);
    if (dir.empty()) fail("dist", "HGC_RENDEZVOUS='", r, "' names no directory");
    make_dirs(dir);
    return std::make_shared<gloo::rendezvous::FileStore>(dir);
  }
  if (r.rfind("redis://", 0) == 0) {
    std::string hp = r.substr(8);
    size_t colon = hp.rfind(':');
    std::string host = colon == std::string::npos ? hp : hp.substr(0, colon);
    int port = 6379;
    if (colon != std::string::npos) {
      try {
        port = std::stoi(hp.substr(colon + 1));
      } catch (const std::exception&) {
        fail("dist", "HGC_RENDEZVOUS='", r, "': bad port");
      }
    }
    try {
      return std::make_shared<gloo::rendezvous::RedisStore>(host, port);
    } catch (const std::exception& e) {
      fail("dist", "gloo rendezvous: cannot reach the Redis store at ", host, ":", port, ": ", e.what());
    }
  }
  if (r.empty())
    fail("dist", "the gloo backend needs a rendezvous: set HGC_RENDEZVOUS=file:DIR or redis://HOST:PORT "
                 "(hgc launch sets it)");
  fail("dist", "HGC_RENDEZVOUS='", r, "' is neither file:DIR nor redis://HOST:PORT");
}

// Waits for keys up to the communicator's timeout instead of gloo's fixed 30 s, so ranks that
// start minutes apart (a busy scheduler) still meet.
class TimedStore : public gloo::rendezvous::Store {
 public:
  TimedStore(std::shared_ptr<Store> inner, std::chrono::milliseconds t) : inner_(std::move(inner)), t_(t) {}
  void set(const std::string& key, const std::vector<char>& data) override { inner_->set(key, data); }
  std::vector<char> get(const std::string& key) override {
    inner_->wait({key}, t_);
    return inner_->get(key);
  }
  void wait(const std::vector<std::string>& keys) override { inner_->wait(keys, t_); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds&) override {
    inner_->wait(keys, t_);
  }

 private:
  std::shared_ptr<Store> inner_;
  std::chrono::milliseconds t_;
};

int listening_port(const gloo::transport::Address& a) {
  auto* tcp = dynamic_cast<const gloo::transport::tcp::Address*>(&a);
  if (!tcp) return -1;
  const sockaddr_storage& ss = tcp->getSockaddr();
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return -1;
}

// Gloo's TCP pairs write with plain write(2): a write to a peer that has died raises SIGPIPE,
// whose default action kills this rank before Gloo can report which peer failed (exit 141
// on some machines, depending on timing). A program that installed its own handler keeps it.
void ignore_sigpipe() {
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
}

class Gloo : public Communicator {
 public:
  explicit Gloo(const Options& o) : Communicator(o.timeout), rank_(o.rank), size_(o.world_size) {
    ignore_sigpipe();
    try {
      base_store_ = std::make_shared<TimedStore>(open_store(o), timeout_);
      store_ = std::make_shared<gloo::rendezvous::PrefixStore>(o.prefix, *base_store_);
      gloo::transport::tcp::attr attr;
      if (!o.hostname.empty()) attr.hostname = o.hostname;
      else if (!o.iface.empty()) attr.iface = o.iface;
      else attr.hostname = "127.0.0.1";
      auto dev = gloo::transport::tcp::CreateDevice(attr);
      ctx_ = std::make_shared<gloo::rendezvous::Context>(rank_, size_);
      ctx_->setTimeout(timeout_);
      ctx_->connectFullMesh(*store_, dev);
    } catch (const hgc::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("dist", "gloo rendezvous through ", o.rendezvous, " (rank ", rank_, " of ", size_,
           ", timeout ", seconds(timeout_), " s) failed: ", e.what());
    }
    // Every rank's listening port, for naming peers in failures.
    int32_t mine = -1;
    for (int r = 0; r < size_ && mine < 0; ++r)
      if (r != rank_) mine = listening_port(ctx_->getPair(r)->address());
    ports_.resize(size_);
    allgather(&mine, ports_.data(), sizeof mine);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "gloo"; }

  void allreduce(void* data, size_t count, DType dtype) override {
    check_reduce_dtype(dtype, "gloo");
    run(describe("allreduce", count, dtype), [&] {
      if (count == 0) return;
      gloo::AllreduceOptions opts(ctx_);
      opts.setTimeout(timeout_);
      opts.setTag(next_tag());
      switch (dtype) {
        case DType::f32: set_sum<float>(opts, data, count); break;
        case DType::f64: set_sum<double>(opts, data, count); break;
        case DType::i32: set_sum<int32_t>(opts, data, count); break;
        default: set_sum<int64_t>(opts, data, count); break;
      }
      gloo::allreduce(opts);
    });
  }

  void broadcast(void* data, size_t bytes, int root) override {
    if (root < 0 || root >= size_) fail("dist", "broadcast: root ", root, " is not a rank of a world of ", size_);
    run("broadcast of " + std::to_string(bytes) + " bytes from rank " + std::to_string(root), [&] {
      if (bytes == 0) return;
      gloo::BroadcastOptions opts(ctx_);
      opts.setTimeout(timeout_);
      opts.setTag(next_tag());
      opts.setRoot(root);
      opts.setOutput(static_cast<char*>(data), bytes);
      gloo::broadcast(opts);
    });
  }

  void allgather(const void* in, void* out, size_t bytes) override {
    run("allgather of " + std::to_string(bytes) + " bytes", [&] {
      if (bytes == 0) return;
      gloo::AllgatherOptions opts(ctx_);
      opts.setTimeout(timeout_);
      opts.setTag(next_tag());
      opts.setInput(const_cast<char*>(static_cast<const char*>(in)), bytes);
      opts.setOutput(static_cast<char*>(out), bytes * size_);
      gloo::allgather(opts);
    });
  }

  void barrier() override {
    run("barrier", [&] {
      gloo::BarrierOptions opts(ctx_);
      opts.setTimeout(timeout_);
      opts.setTag(next_tag());
      gloo::barrier(opts);
    });
  }

 private:
  template <typename T>
  static void set_sum(gloo::AllreduceOptions& opts, void* data, size_t count) {
    opts.setOutput(static_cast<T*>(data), count);
    void (*fn)(void*, const void*, const void*, size_t) = &gloo::sum<T>;
    opts.setReduceFunction(fn);
  }

  uint32_t next_tag() { return tag_++ & 0xffffff; }

  template <typename F>
  void run(const std::string& what, F&& body) {
    std::lock_guard<std::mutex> lock(mu_);
    poison_.check("gloo");
    if (size_ == 1) return;  // gloo's algorithms want a peer; one rank has nothing to exchange
    try {
      body();
    } catch (const std::exception& e) {
      std::string msg = what + " failed on rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " +
                        peers_in(e.what()) + " (gloo: " + e.what() + ")";
      poison_.set(msg);
      throw Error("dist", msg);
    }
  }

  // Which peer a gloo message is about, in words.
  std::string peers_in(const std::string& gloo_msg) const {
    std::set<int> ranks;
    static const std::regex addr(R"(\]:(\d+))");
    for (auto it = std::sregex_iterator(gloo_msg.begin(), gloo_msg.end(), addr); it != std::sregex_iterator(); ++it) {
      int port = std::stoi((*it)[1]);
      for (int r = 0; r < size_; ++r)
        if (r != rank_ && ports_.size() == static_cast<size_t>(size_) && ports_[r] == port) ranks.insert(r);
    }
    bool timed_out = gloo_msg.find("imed out") != std::string::npos || gloo_msg.find("imeout") != std::string::npos;
    std::string how = timed_out ? "did not answer within " + seconds(timeout_) + " s"
                                : "closed the connection or failed";
    if (ranks.empty() && size_ == 2) ranks.insert(1 - rank_);
    if (ranks.empty()) return "a peer " + how + " (gloo does not say which rank)";
    std::string s = ranks.size() == 1 ? "peer rank " : "peer ranks ";
    bool first = true;
    for (int r : ranks) {
      s += (first ? "" : ", ") + std::to_string(r);
      first = false;
    }
    return s + " " + how;
  }

  int rank_, size_;
  std::shared_ptr<gloo::rendezvous::Store> base_store_;
  std::shared_ptr<gloo::rendezvous::PrefixStore> store_;
  std::shared_ptr<gloo::rendezvous::Context> ctx_;
  std::vector<int32_t> ports_;
  std::mutex mu_;
  uint32_t tag_ = 0;
  Poison poison_;
};

}  // namespace

std::shared_ptr<Communicator> make_gloo(const Options& o) { return std::make_shared<Gloo>(o); }

}  // namespace hgc::dist::detail
