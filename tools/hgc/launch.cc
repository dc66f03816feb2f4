// `hgc launch`: runs N ranks of a program on this machine, for the communicator in
// runtime/dist. gloo: N children with HGC_RANK / HGC_WORLD_SIZE / HGC_RENDEZVOUS (a fresh
// file store in a temporary directory); mpi: one mpirun whose tagged output is re-tagged.
// Either way each output line carries its rank, INT/TERM/HUP/QUIT are forwarded, and the
// first rank to fail stops the rest and decides the exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "hgc/base/error.h"

namespace hgc::cli {

static const char* kLaunchHelp = R"(usage: hgc launch -n N [options] -- PROGRAM [ARGS...]

Starts N ranks of PROGRAM on this machine for data-parallel work (hgc::dist). Every line a
rank prints is prefixed with "[rank R] "; SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to
every rank; when one rank fails the others get 5 s to end on their own (a rank waiting on the
dead one fails with an error naming it), then SIGTERM, then SIGKILL after --grace seconds,
and hgc launch exits non-zero with the failed rank's status, naming it.

options:
  -n, --np N           number of ranks (required)
  --backend gloo|mpi   gloo (default): the ranks meet through a file store in a temporary
                       directory (HGC_RANK, HGC_WORLD_SIZE, HGC_RENDEZVOUS are set for them);
                       mpi: runs `mpirun -np N --oversubscribe --tag-output` (plus
                       --allow-run-as-root as root)
  --rendezvous R       gloo: file:DIR or redis://HOST:PORT instead of the temporary directory
  --timeout S          HGC_DIST_TIMEOUT for the ranks (seconds per collective; default 300)
  --grace S            seconds between SIGTERM and SIGKILL when stopping ranks (default 10)

Many machines: use `mpirun -H host1,host2 ...` or a scheduler that sets HGC_RANK /
HGC_WORLD_SIZE / HGC_RENDEZVOUS (or OMPI_COMM_WORLD_*, SLURM_PROCID / SLURM_NTASKS).
)";

namespace {

volatile sig_atomic_t g_signal = 0;
int g_mpi_failed_rank = -1;  // from mpirun's "Process name: [[J,1],R]" report
void on_signal(int sig) { g_signal = sig; }

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// One output stream of one child: complete lines are written with their prefix.
struct Stream {
  int fd = -1;
  int out_fd = 1;
  std::string buffer;
  // mpi: the prefix comes from mpirun's "[1,R]<stdout>:" tag.
  bool retag_mpi = false;
  std::string prefix;
};

void emit_line(Stream& s, const std::string& line) {
  if (s.retag_mpi) {
    static const std::regex tag(R"(^\[\d+,(\d+)\]<(stdout|stderr)>:(.*)$)");
    std::smatch m;
    if (std::regex_match(line, m, tag)) {
      write_all(m[2] == "stderr" ? 2 : 1, "[rank " + m[1].str() + "] " + m[3].str() + "\n");
      return;
    }
    static const std::regex who(R"(Process name: \[\[\d+,\d+\],(\d+)\])");
    if (std::regex_search(line, m, who) && g_mpi_failed_rank < 0) g_mpi_failed_rank = std::stoi(m[1]);
    write_all(s.out_fd, "[mpirun] " + line + "\n");
    return;
  }
  write_all(s.out_fd, s.prefix + line + "\n");
}

// Reads what is there; false at end of file.
bool pump(Stream& s) {
  char buf[65536];
  ssize_t n = ::read(s.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (!s.buffer.empty()) emit_line(s, s.buffer);
    s.buffer.clear();
    ::close(s.fd);
    s.fd = -1;
    return false;
  }
  s.buffer.append(buf, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = s.buffer.find('\n', start)) != std::string::npos; start = nl + 1)
    emit_line(s, s.buffer.substr(start, nl - start));
  s.buffer.erase(0, start);
  return true;
}

struct Child {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
  int status = 0;
};

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::vector<std::string>& unset, Stream& out, Stream& err) {
  int po[2], pe[2];
  if (::pipe(po) != 0 || ::pipe(pe) != 0) fail("launch", "pipe: ", std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) fail("launch", "fork: ", std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: forwarded signals reach its children too, and only once
    ::dup2(po[1], 1);
    ::dup2(pe[1], 2);
    ::close(po[0]), ::close(po[1]), ::close(pe[0]), ::close(pe[1]);
    for (auto& name : unset) ::unsetenv(name.c_str());
    for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::string msg = "hgc launch: cannot run '" + argv[0] + "': " + std::strerror(errno) + "\n";
    write_all(2, msg);
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(po[1]), ::close(pe[1]);
  out.fd = po[0];
  err.fd = pe[0];
  out.out_fd = 1;
  err.out_fd = 2;
  return pid;
}

void signal_all(std::vector<Child>& children, int sig) {
  for (auto& c : children)
    if (c.running) ::kill(-c.pid, sig);
}

}  // namespace

int cmd_launch(Args& args) {
  int n = 0;
  std::string backend = "gloo", rendezvous, timeout;
  double grace = 10;
  std::vector<std::string> program;
  while (!args.done()) {
    if (args.peek() == "--") {
      args.positional();
      while (!args.done()) program.push_back(args.positional());
      break;
    }
    if (args.flag("--help") || args.flag("-h")) {
      std::cout << kLaunchHelp;
      return 0;
    }
    if (args.option("-n") || args.option("--np")) {
      std::string v = args.value();
      n = std::atoi(v.c_str());
      if (n < 1 || std::to_string(n) != v) fail("launch", "-n wants a positive number of ranks, got '", v, "'");
    } else if (args.option("--backend")) {
      backend = args.value();
      if (backend != "gloo" && backend != "mpi") fail("launch", "--backend is gloo or mpi, got '", backend, "'");
    } else if (args.option("--rendezvous")) {
      rendezvous = args.value();
    } else if (args.option("--timeout")) {
      timeout = args.value();
    } else if (args.option("--grace")) {
      grace = std::atof(args.value().c_str());
    } else if (args.peek().rfind("-", 0) == 0) {
      fail("launch", "unknown option '", args.peek(), "' (the program goes after --)\n", kLaunchHelp);
    } else {
      while (!args.done()) program.push_back(args.positional());
    }
  }
  if (n < 1) fail("launch", "-n N is required\n", kLaunchHelp);
  if (program.empty()) fail("launch", "no program to run (hgc launch -n N -- PROGRAM ARGS...)");

  std::string tmpdir;
  std::map<std::string, std::string> env;
  std::vector<std::string> unset;
  if (!timeout.empty()) env["HGC_DIST_TIMEOUT"] = timeout;
  std::vector<std::vector<std::string>> argvs;
  if (backend == "gloo") {
    if (rendezvous.empty()) {
      std::string base = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/hgc-launch-XXXXXX");
      std::vector<char> tmpl(base.begin(), base.end());
      tmpl.push_back('\0');
      if (!::mkdtemp(tmpl.data())) fail("launch", "mkdtemp ", base, ": ", std::strerror(errno));
      tmpdir = tmpl.data();
      rendezvous = "file:" + tmpdir;
    }
    env["HGC_BACKEND"] = "gloo";
    env["HGC_RENDEZVOUS"] = rendezvous;
    env["HGC_WORLD_SIZE"] = std::to_string(n);
    env["HGC_RUN_ID"] = std::to_string(::getpid()) + "-" +
                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    unset = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "SLURM_PROCID", "SLURM_NTASKS"};
    for (int r = 0; r < n; ++r) argvs.push_back(program);
  } else {
    std::vector<std::string> a = {"mpirun", "-np", std::to_string(n), "--oversubscribe", "--tag-output"};
    if (::geteuid() == 0) a.push_back("--allow-run-as-root");
    if (!timeout.empty()) a.insert(a.end(), {"-x", "HGC_DIST_TIMEOUT"});
    a.insert(a.end(), program.begin(), program.end());
    argvs.push_back(a);
    unset = {"HGC_BACKEND", "HGC_RANK", "HGC_WORLD_SIZE"};
    // Containers forbid the cross-memory attach Open MPI's shared-memory transport tries first.
    if (!std::getenv("OMPI_MCA_btl_vader_single_copy_mechanism")) env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaction(sig, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<Child> children(argvs.size());
  std::vector<Stream> streams(2 * argvs.size());
  for (size_t r = 0; r < argvs.size(); ++r) {
    auto e = env;
    if (backend == "gloo") {
      e["HGC_RANK"] = std::to_string(r);
      e["HGC_LOCAL_RANK"] = std::to_string(r);
    }
    Stream& out = streams[2 * r];
    Stream& err = streams[2 * r + 1];
    out.prefix = err.prefix = "[rank " + std::to_string(r) + "] ";
    out.retag_mpi = err.retag_mpi = backend == "mpi";
    children[r].rank = static_cast<int>(r);
    children[r].pid = spawn(argvs[r], e, unset, out, err);
    children[r].running = true;
  }

  using clock = std::chrono::steady_clock;
  int first_failed = -1, failed_status = 0, forwarded = 0;
  std::optional<clock::time_point> term_at, kill_at;
  for (;;) {
    if (int sig = g_signal) {
      g_signal = 0;
      forwarded = sig;
      signal_all(children, sig);
      if (!kill_at) kill_at = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(grace));
    }
    std::vector<pollfd> fds;
    std::vector<Stream*> owners;
    for (auto& s : streams)
      if (s.fd >= 0) {
        fds.push_back({s.fd, POLLIN, 0});
        owners.push_back(&s);
      }
    bool any_running = false;
    for (auto& c : children) any_running |= c.running;
    if (!any_running && fds.empty()) break;
    int ready = ::poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i)
      if (fds[i].revents) pump(*owners[i]);
    for (auto& c : children) {
      if (!c.running) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      c.running = false;
      c.status = status;
      bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && first_failed < 0 && !forwarded) {
        first_failed = c.rank;
        failed_status = status;
        std::string who = backend == "mpi" ? "mpirun" : "rank " + std::to_string(c.rank);
        write_all(2, "hgc launch: " + who + " " + describe_status(status) +
                         (children.size() > 1 ? "; stopping the other ranks\n" : "\n"));
        // A moment for the others to fail on their own, naming the collective and the peer
        // (hgc::dist notices a dead peer at once), before they are told to stop.
        term_at = clock::now() + std::chrono::seconds(5);
      }
    }
    if (term_at && clock::now() > *term_at) {
      signal_all(children, SIGTERM);
      term_at.reset();
      kill_at = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(grace));
    }
    if (kill_at && clock::now() > *kill_at) {
      signal_all(children, SIGKILL);
      kill_at.reset();
    }
    // Every rank is gone but a grandchild still holds a pipe: stop reading after a moment.
    if (!any_running && ready == 0) {
      for (auto& s : streams)
        if (s.fd >= 0) ::close(s.fd), s.fd = -1;
    }
  }
  if (!tmpdir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(tmpdir, ec);
  }
  if (first_failed >= 0) {
    if (backend == "gloo")
      write_all(2, "hgc launch: failed: rank " + std::to_string(first_failed) + " " + describe_status(failed_status) + "\n");
    else if (g_mpi_failed_rank >= 0)
      write_all(2, "hgc launch: failed: rank " + std::to_string(g_mpi_failed_rank) + " (as mpirun reports)\n");
    int code = exit_code_of(failed_status);
    return code == 0 ? 1 : code;
  }
  if (forwarded) return 128 + forwarded;
  for (auto& c : children)
    if (!(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0)) return exit_code_of(c.status);
  return 0;
}

}  // namespace hgc::cli
