// Which ops the compiler lowers for the CPU and where each lowering is registered, for the
// registry-wide test that every op record has a lowering from compiler/src/lower/<family>.cc
// or a listed reason (compiler/src/lower/missing.cc).
//
//   for (const auto& [op, file] : hgc::lowering_files()) ...   // "Convolution" -> ".../nn_conv.cc"
//   hgc::ops_without_lowering().at("RNN");                     // the reason
#pragma once
#include <map>
#include <string>

namespace hgc {

// Canonical op name -> the source file that registered its CPU lowering.
std::map<std::string, std::string> lowering_files();
// Canonical op name -> why it has no CPU lowering.
std::map<std::string, std::string> ops_without_lowering();

}  // namespace hgc
