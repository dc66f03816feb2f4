#include <doctest/doctest.h>

#include "hgc/base/error.h"
#include "hgc/ir/infer.h"
#include "hgc/ir/json_io.h"
#include "hgc/ir/verify.h"

using namespace hgc;

namespace {
// An E0 file in the shape MXNet 0.8 wrote: `param` + `attr`, [node, index] inputs, no version,
// and a BatchNorm without its aux-state variables.
const char* kE0 = R"J({
  "nodes": [
    {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1,
     "attr": {"ctx_group": "stage1", "lr_mult": "0.2"}},
    {"op": "null", "param": {}, "name": "fc1_weight", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "fc1_bias", "inputs": [], "backward_source_id": -1},
    {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "16"}, "name": "fc1",
     "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1,
     "attr": {"ctx_group": "stage1", "weight_lr_mult": "1.2"}},
    {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},
    {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True", "momentum": "0.9",
     "use_global_stats": "False"}, "name": "bn", "inputs": [[3, 0], [4, 0], [5, 0]],
     "backward_source_id": -1}
  ],
  "arg_nodes": [0, 1, 2, 4, 5],
  "heads": [[6, 0]]
})J";

const char* kE2 = R"J({
  "nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "null", "name": "w", "attrs": {"__shape__": "(8, 0)", "__dtype__": "0"}, "inputs": []},
    {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "8", "no_bias": "True",
     "flatten": "False"}, "inputs": [[0, 0, 0], [1, 0, 0]]},
    {"op": "Activation", "name": "act", "attrs": {"act_type": "tanh"}, "inputs": [[2, 0, 0]],
     "control_deps": [1]}
  ],
  "arg_nodes": [0, 1],
  "node_row_ptr": [0, 1, 2, 3, 4],
  "heads": [[3, 0, 0]],
  "attrs": {"mxnet_version": ["int", 10600], "is_np_shape": ["int", 0]}
})J";
}  // namespace

TEST_CASE("E0 files: param+attr merged, hidden keys renamed, BatchNorm aux variables added") {
  Graph g = load_json(kE0, "e0.json");
  CHECK(g.mxnet_version == 800);
  int fc = g.find("fc1");
  REQUIRE(fc >= 0);
  CHECK(g.nodes[fc].hidden.at("__ctx_group__") == "stage1");
  CHECK(g.nodes[fc].hidden.at("weight___lr_mult__") == "1.2");  // MXNet's rename rule
  CHECK(g.nodes[g.find("data")].hidden.at("__lr_mult__") == "0.2");
  int bn = g.find("bn");
  REQUIRE(g.nodes[bn].inputs.size() == 5);
  CHECK(g.nodes[g.nodes[bn].inputs[3].node].name == "bn_moving_mean");
  CHECK(g.nodes[g.nodes[bn].inputs[4].node].name == "bn_moving_var");
  CHECK(g.role(g.find("bn_moving_var")) == VarRole::AuxState);
  CHECK(g.role(g.find("bn_gamma")) == VarRole::Parameter);
  CHECK(g.role(g.find("data")) == VarRole::Input);
  infer(g, {{{"data", Shape{4, 10}}}, {}, true});
  CHECK(g.shape({g.find("fc1_weight"), 0}) == Shape{16, 10});
  CHECK(g.shape({g.find("bn_moving_mean"), 0}) == Shape{16});
  CHECK(g.shape(g.heads[0]) == Shape{4, 16});
  verify(g);
}

TEST_CASE("E2 files: attrs, deferred __shape__, control deps and graph attrs survive a round trip") {
  Graph g = load_json(kE2);
  CHECK(g.mxnet_version == 10600);
  CHECK(g.nodes[3].control_deps == std::vector<int>{1});
  std::string once = save_json(g);
  Graph g2 = load_json(once);
  CHECK(save_json(g2) == once);
  CHECK(g2.extra_attrs.at("is_np_shape") == R"(["int",0])");
  infer(g2, {{{"data", Shape{2, 3, 5}}}, {}, true});
  CHECK(g2.shape({1, 0}) == Shape{8, 5});  // flatten=False: last axis
  CHECK(g2.shape(g2.heads[0]) == Shape{2, 3, 8});
}

TEST_CASE("canonical save: E2, sorted attrs, version, row pointers") {
  Graph g = load_json(kE0);
  std::string s = save_json(g);
  CHECK(s.find("\"param\"") == std::string::npos);
  CHECK(s.find("\"mxnet_version\"") != std::string::npos);
  CHECK(s.find("\"node_row_ptr\"") != std::string::npos);
  // BatchNorm has 3 outputs, so the row pointer after it advances by 3.
  CHECK(s.find("\"fix_gamma\": \"True\"") != std::string::npos);
  Graph g2 = load_json(s);
  CHECK(g2.nodes.size() == g.nodes.size());
  CHECK(save_json(g2) == s);
}

TEST_CASE("unknown ops load and dump but cannot be inferred or run") {
  const char* text = R"J({"nodes": [
    {"op": "null", "name": "x", "inputs": []},
    {"op": "MyCustomOp", "name": "c", "attrs": {"alpha": "0.5"}, "inputs": [[0, 0, 0]]},
    {"op": "relu", "name": "r", "inputs": [[1, 1, 0]]}],
    "arg_nodes": [0], "heads": [[2, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}})J";
  Graph g = load_json(text);
  CHECK(g.nodes[1].op == nullptr);
  CHECK(std::get<std::string>(g.nodes[1].attrs.at("alpha")) == "0.5");
  CHECK(g.nodes[1].num_outputs() == 2);  // referenced output 1
  CHECK(save_json(load_json(save_json(g))) == save_json(g));
  InferOptions o;
  o.shapes["x"] = Shape{2, 2};
  CHECK_THROWS_WITH_AS(infer(g, o), doctest::Contains("unknown op 'MyCustomOp'"), Error);
  o.require_complete = false;
  infer(g, o);
  CHECK_FALSE(g.shape(g.heads[0]).known());
}

TEST_CASE("malformed and hostile JSON give errors naming the file and node") {
  auto err = [](const std::string& text) {
    try {
      load_json(text, "bad.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("{\"nodes\": [").find("bad.json: malformed JSON at byte") != std::string::npos);
  CHECK(err("[]").find("must be an object") != std::string::npos);
  CHECK(err("{\"heads\": []}").find("missing \"nodes\"") != std::string::npos);
  const char* fwd = R"J({"nodes": [{"op": "relu", "name": "r", "inputs": [[1, 0, 0]]},
      {"op": "null", "name": "x", "inputs": []}], "heads": [[0, 0, 0]]})J";
  CHECK(err(fwd).find("not an earlier node") != std::string::npos);
  const char* badidx = R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "relu", "name": "r", "inputs": [[0, 3, 0]]}], "heads": [[1, 0, 0]]})J";
  CHECK(err(badidx).find("output 3") != std::string::npos);
  const char* badattr = R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "Activation", "name": "a", "attrs": {"act_type": "swish"}, "inputs": [[0, 0, 0]]}],
      "heads": [[1, 0, 0]]})J";
  std::string e = err(badattr);
  CHECK(e.find("'a'") != std::string::npos);
  CHECK(e.find("act_type") != std::string::npos);
  CHECK(e.find("swish") != std::string::npos);
  const char* missing = R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "FullyConnected", "name": "f", "inputs": [[0, 0, 0], [0, 0, 0], [0, 0, 0]]}],
      "heads": [[1, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}})J";
  CHECK(err(missing).find("required attribute 'num_hidden'") != std::string::npos);
  const char* arity = R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "FullyConnected", "name": "f", "attrs": {"num_hidden": "2"}, "inputs": [[0, 0, 0]]}],
      "heads": [[1, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}})J";
  CHECK(err(arity).find("expected 3 (data, weight, bias)") != std::string::npos);
  const char* unknown_attr = R"J({"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "relu", "name": "r", "attrs": {"foo": "1"}, "inputs": [[0, 0, 0]]}],
      "heads": [[1, 0, 0]]})J";
  CHECK(err(unknown_attr).find("no attribute 'foo'") != std::string::npos);
  CHECK(err(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": []})J")
            .find("heads") != std::string::npos);
  CHECK(err(R"J({"nodes": [{"op": 3, "name": "x", "inputs": []}], "heads": [[0,0,0]]})J")
            .find("must be a string") != std::string::npos);
  CHECK(err(R"J({"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[0,0,0]],
                "arg_nodes": [7]})J").find("arg_nodes") != std::string::npos);
}

TEST_CASE("inference errors name the node, op and shapes") {
  Graph g = load_json(kE2);
  InferOptions o;
  o.shapes["data"] = Shape{2, 5};
  o.shapes["w"] = Shape{8, 4};
  CHECK_THROWS_WITH_AS(infer(g, o), doctest::Contains("node 'fc' (FullyConnected)"), Error);
  InferOptions o2;
  o2.shapes["nope"] = Shape{1};
  CHECK_THROWS_WITH_AS(infer(g, o2), doctest::Contains("no graph input named 'nope'"), Error);
  InferOptions o3;  // no data shape: the error says how to give it
  CHECK_THROWS_WITH_AS(infer(g, o3), doctest::Contains("--shape data="), Error);
}

TEST_CASE("the verifier rejects broken graphs") {
  Graph g = load_json(kE2);
  infer(g, {{{"data", Shape{2, 5}}}, {}, true});
  verify(g);
  Graph bad = g;
  bad.nodes[2].inputs[0] = {3, 0};  // refers forward
  CHECK_THROWS_WITH_AS(verify(bad), doctest::Contains("not topological"), Error);
  bad = g;
  bad.nodes[2].inputs.pop_back();
  CHECK_THROWS_WITH_AS(verify(bad), doctest::Contains("op expects 2"), Error);
  bad = g;
  bad.nodes[3].out_shapes[0] = Shape{2, 9};
  CHECK_THROWS_WITH_AS(verify(bad), doctest::Contains("recorded as (2, 9)"), Error);
  bad = g;
  bad.heads = {{7, 0}};
  CHECK_THROWS_AS(verify(bad), Error);
}
