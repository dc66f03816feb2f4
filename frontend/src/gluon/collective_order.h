// Every rank must issue its collectives in the same order. A Trainer's gradient buckets run
// on a communication thread, started during backward; a collective the training thread
// issues meanwhile (SyncBatchNorm's, in backward) could take a different place in that
// sequence on different ranks. Such callers drain the queues first.
#pragma once
#include <functional>

namespace hgc::gluon::detail {

// A queue registers how to wait until it is idle; the id removes it.
int add_comm_drain(std::function<void()> drain);
void remove_comm_drain(int id);
// Waits for every registered queue (call before a collective on the training thread).
void drain_comm_queues();

}  // namespace hgc::gluon::detail
