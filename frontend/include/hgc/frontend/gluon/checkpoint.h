// Checkpoints for (data-parallel) training: rank 0 writes, every rank reads.
//
//   using namespace hgc::gluon;
//   if (int64_t s = load_checkpoint("ckpt", *net, trainer); s >= 0) step = s;
//   ...
//   if (step % 100 == 0) save_checkpoint("ckpt", step, *net, trainer);  // every rank calls
//
// Layout: DIR/ckpt-<step>/{model.params, trainer.states} (MXNet .params dicts under the
// blocks' structural names, "0.weight", as save_parameters writes them: the parameters, and
// Trainer::save_states' optimizer state) and DIR/latest, one line naming
// the newest complete checkpoint. Atomic: a checkpoint is written into a temporary
// directory and renamed into place, then `latest` is replaced by rename, so a crash at any
// moment (a killed rank, a full disk) leaves `latest` naming a complete checkpoint and never
// damages one. The `keep` newest are kept. With kvstore dist_sync only rank 0 writes and every
// rank waits for it (a barrier); all ranks load the same files, so a resumed run continues
// bit-identically (parameters, optimizer moments, update counts and so the learning-rate
// schedule; the data position is the caller's: the returned step).
#pragma once
#include <cstdint>
#include <string>

#include "hgc/frontend/gluon/block.h"
#include "hgc/frontend/gluon/trainer.h"

namespace hgc::gluon {

void save_checkpoint(const std::string& dir, int64_t step, const Block& net, const Trainer& trainer, int keep = 2);
// The step of the checkpoint `latest` names after loading it into net and trainer; -1 (and
// nothing changed) when DIR has none. Throws naming the file when a checkpoint is damaged.
int64_t load_checkpoint(const std::string& dir, Block& net, Trainer& trainer);

}  // namespace hgc::gluon
