// Shared by the nn / movement / rnn op tests: inference that is expected to fail.
//
//   std::string m = infer_error("Concat", {{"num_args", "2"}}, {{2, 3}, {3, 3}});
//   CHECK(has(m, "node 'test_op' (Concat)"));
#pragma once
#include <string>
#include <utility>

#include "hgc/base/error.h"
#include "support/op_test.h"

namespace hgc::test {

// The hgc::Error message of a failing inference; "" when inference succeeds.
inline std::string infer_error(const std::string& op,
                               const std::map<std::string, std::string>& attrs,
                               const std::vector<Shape>& inputs,
                               const std::vector<DType>& dtypes = {}) {
  try {
    infer_op(op, attrs, inputs, dtypes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The error names the node and op, and says `what`.
inline bool names_node(const std::string& msg, const std::string& op, const std::string& what) {
  return has(msg, "node 'test_op' (" + op + ")") && has(msg, what);
}

// Runs an op's shape rule once, with outputs preset the way a consumer would have set them;
// returns {inputs, outputs} after the rule.
inline std::pair<std::vector<Shape>, std::vector<Shape>> run_rule(const std::string& op,
                                                                  const AttrMap& attrs,
                                                                  std::vector<Shape> in,
                                                                  std::vector<Shape> out) {
  const OpDef& def = OpRegistry::global().get(op);
  AttrView view(def, attrs, "node 'test_op' (" + op + ")");
  Names names = def.input_names(view);
  ShapeCtx ctx{view, names, in, out};
  def.infer_shape(ctx);
  return {in, out};
}

}  // namespace hgc::test
