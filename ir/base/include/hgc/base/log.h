// Opt-in diagnostics on standard error, chosen by the HGC_LOG environment variable (a comma
// list of topics; "all" for every one; "time" prefixes lines with ms since start). Topics: "compile" (each trace/compile of a
// hybridized block and each cache eviction, with its reason).
//
//   if (hgc::log_enabled("compile")) hgc::log_line("compile net0 forward data=?x784:float32 reason: first call");
#pragma once
#include <string>
#include <string_view>

namespace hgc {

// Whether HGC_LOG names `topic` (read once per process).
bool log_enabled(std::string_view topic);
// Writes "[hgc] " + text + "\n" to standard error in one call.
void log_line(const std::string& text);

}  // namespace hgc
