// The step profiler (hgc/runtime/profile.h): off by default; on, every step of a compiled
// graph and every imperative invoke adds its time and one call under its label.
#include <doctest/doctest.h>

#include <sstream>

#include "hgc/compiler/compile.h"
#include "hgc/compiler/imperative.h"
#include "hgc/ir/infer.h"
#include "hgc/runtime/profile.h"

using namespace hgc;

TEST_CASE("step profiler: compiled steps and imperative invokes, by label") {
  Graph g;
  int x = g.add_variable("x"), w = g.add_variable("w");
  int fc = g.add_node("FullyConnected", "fc", {{x, 0}, {w, 0}}, {{"num_hidden", int64_t(3)}, {"no_bias", true}});
  int r = g.add_node("relu", "act", {{fc, 0}}, {});
  g.heads.push_back({r, 0});
  infer(g, {{{"x", Shape{2, 4}}, {"w", Shape{3, 4}}}, {}});
  CompileOptions o;
  o.fuse = false;  // two steps, two labels
  auto exe = compile(g, o);
  HostTensor xs(DType::f32, {2, 4}), ws(DType::f32, {3, 4});
  for (int i = 0; i < 8; ++i) xs.data<float>()[i] = static_cast<float>(i);
  for (int i = 0; i < 12; ++i) ws.data<float>()[i] = i % 2 ? 1.f : -1.f;

  profile::reset();
  exe->run(std::vector<HostTensor>{xs, ws});  // off: nothing recorded
  std::ostringstream off;
  profile::report(off);
  CHECK(off.str().find("fc") == std::string::npos);

  profile::enable(true);
  for (int i = 0; i < 3; ++i) exe->run(std::vector<HostTensor>{xs, ws});
  invoke("relu", {}, {xs});
  profile::enable(false);
  std::ostringstream on;
  profile::report(on, 3);
  std::string t = on.str();
  CHECK(t.find("fully_connected fc") != std::string::npos);  // library call: its kind, then the label
  CHECK(t.find("kernel act") != std::string::npos);
  CHECK(t.find("invoke relu") != std::string::npos);
  CHECK(t.find("total") != std::string::npos);
  // Three runs reported per run (per = 3): one call per step.
  std::string act_line = t.substr(t.rfind("\n", t.find("kernel act")) + 1);
  act_line = act_line.substr(0, act_line.find("\n"));
  std::istringstream fields(act_line);
  double ms = -1;
  int calls = 0;
  fields >> ms >> calls;
  CHECK(ms >= 0);
  CHECK(calls == 1);
  profile::reset();
  std::ostringstream empty;
  profile::report(empty);
  CHECK(empty.str().find("kernel act") == std::string::npos);
}
