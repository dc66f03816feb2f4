// save_checkpoint / load_checkpoint (checkpoint.h).
#include "hgc/frontend/gluon/checkpoint.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "hgc/base/error.h"
#include "hgc/base/files.h"
#include "hgc/dist/communicator.h"

namespace hgc::gluon {

namespace fs = std::filesystem;

namespace {
// Trainer::save_states keys "<parameter name>:<field>"; checkpoints key the structural name.
std::map<std::string, std::string> rename_keys(const Block& net, bool to_structural) {
  std::map<std::string, std::string> m;
  for (const auto& [structural, p] : net.structural_params()) {
    if (to_structural) m[p->name()] = structural;
    else m[structural] = p->name();
  }
  return m;
}

void rewrite_states(const std::string& from, const std::string& to, const std::map<std::string, std::string>& names) {
  std::map<std::string, NDArray> out;
  for (auto& [key, arr] : nd::load_dict(from)) {
    size_t colon = key.rfind(':');
    std::string head = colon == std::string::npos ? key : key.substr(0, colon);
    auto it = names.find(head);
    out[it == names.end() ? key : it->second + key.substr(head.size())] = arr;
  }
  nd::save(to, out);
}
}  // namespace

void save_checkpoint(const std::string& dir, int64_t step, const Block& net, const Trainer& trainer, int keep) {
  if (step < 0) fail("checkpoint", "step must be >= 0, got ", step);
  std::exception_ptr err;
  if (trainer.rank() == 0) {
    try {
      fs::create_directories(dir);
      std::string name = "ckpt-" + std::to_string(step);
      fs::path tmp = fs::path(dir) / (".tmp-" + name + "-" + std::to_string(::getpid()));
      fs::remove_all(tmp);
      fs::create_directories(tmp);
      net.save_parameters((tmp / "model.params").string());
      trainer.save_states((tmp / "by-name.states").string());
      rewrite_states((tmp / "by-name.states").string(), (tmp / "trainer.states").string(), rename_keys(net, true));
      fs::remove(tmp / "by-name.states");
      fs::path final_dir = fs::path(dir) / name;
      fs::remove_all(final_dir);  // the same step saved again
      fs::rename(tmp, final_dir);
      write_file_atomic((fs::path(dir) / "latest").string(), name + "\n", "checkpoint");
      // Older checkpoints beyond `keep`.
      std::vector<std::pair<int64_t, fs::path>> all;
      static const std::regex pat(R"(ckpt-(\d+))");
      for (const auto& e : fs::directory_iterator(dir)) {
        std::smatch m;
        std::string f = e.path().filename().string();
        if (e.is_directory() && std::regex_match(f, m, pat)) all.emplace_back(std::stoll(m[1]), e.path());
      }
      std::sort(all.begin(), all.end());
      for (size_t i = 0; i + static_cast<size_t>(std::max(keep, 1)) < all.size(); ++i)
        if (all[i].first != step) fs::remove_all(all[i].second);
    } catch (const hgc::Error&) {
      err = std::current_exception();
    } catch (const std::exception& e) {
      err = std::make_exception_ptr(Error("checkpoint", "writing " + dir + ": " + e.what()));
    }
  }
  // Everyone waits for rank 0's files (a rank-0 failure surfaces there; the others go on).
  if (trainer.distributed()) dist::world()->barrier();
  if (err) std::rethrow_exception(err);
}

int64_t load_checkpoint(const std::string& dir, Block& net, Trainer& trainer) {
  fs::path latest = fs::path(dir) / "latest";
  if (!fs::exists(latest)) return -1;
  std::ifstream in(latest);
  std::string name;
  std::getline(in, name);
  static const std::regex pat(R"(ckpt-(\d+))");
  std::smatch m;
  if (!std::regex_match(name, m, pat)) fail("checkpoint", latest.string(), ": does not name a checkpoint ('", name, "')");
  fs::path ck = fs::path(dir) / name;
  if (!fs::exists(ck / "model.params") || !fs::exists(ck / "trainer.states"))
    fail("checkpoint", ck.string(), ": model.params or trainer.states is missing");
  // States first (into a private copy under this process's names): a bad file changes nothing.
  std::string local = (fs::temp_directory_path() / ("hgc-states-" + std::to_string(::getpid()))).string();
  rewrite_states((ck / "trainer.states").string(), local, rename_keys(net, false));
  try {
    trainer.load_states(local);
  } catch (...) {
    fs::remove(local);
    throw;
  }
  fs::remove(local);
  net.load_parameters((ck / "model.params").string());
  return std::stoll(m[1]);
}

}  // namespace hgc::gluon
