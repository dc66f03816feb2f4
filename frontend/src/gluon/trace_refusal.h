// A block that cannot be part of a compiled graph in some mode (SyncBatchNorm's collectives
// in training mode) refuses the trace; the hybridized block whose trace was refused then
// runs that mode imperatively (hybrid.cc), its hybridized children compiled on their own.
#pragma once
#include <string>

namespace hgc::gluon::detail {

// Throws the hgc::Error that ends the trace, remembering `why` for HybridBlock::run.
[[noreturn]] void refuse_trace(const std::string& block, const std::string& why);
// The reason of this thread's last refusal, cleared; empty when none.
std::string take_trace_refusal();

}  // namespace hgc::gluon::detail
