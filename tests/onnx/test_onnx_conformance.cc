// ONNX's backend test data through hgc (scripts/onnx_conformance.sh, one process per test):
// the whole suite in the release build, checked against the committed report (a test that
// passed there must still pass; no crash, no hang, unsupported only for the fixed reasons);
// a sample of 40 under the sanitizers (CTest onnx_conformance_sample, label `sample`).
#include <doctest/doctest.h>

#include "support/paths.h"
#include "support/shell.h"

using namespace hgc::test;

TEST_CASE("onnx conformance: no regressions against docs/onnx-conformance.md") {
  std::string report = temp_dir() + "/onnx-conformance.md";
  std::string cmd = source_path("scripts/onnx_conformance.sh") + " --hgc " + HGC_TOOL + " --report " + report +
                    " --check " + source_path("docs/onnx-conformance.md");
  if (HGC_SANITIZE_BUILD) {
    MESSAGE("sanitizer build: a sample of 40 of the 1,072 models (the release pass runs them all)");
    cmd += " --sample 40";
  }
  Shell r = sh(cmd);
  MESSAGE(r.out);
  CHECK(r.code == 0);
}
