// gluon.rnn's cell wrappers: ModifierCell (the base of cells that wrap one base cell),
// ResidualCell, DropoutCell, ZoneoutCell and BidirectionalCell.
//
//   auto cell = std::make_shared<rnn::ResidualCell>(std::make_shared<rnn::GRUCell>(rnn::CellOptions(8)));
//   auto bi = std::make_shared<rnn::BidirectionalCell>(l_cell, r_cell);
//   auto r = bi->unroll(T, x, {}, "NTC");   // outputs (N, T, 2 H): left-to-right ++ right-to-left
#pragma once
#include <memory>

#include "hgc/frontend/gluon/nn/basic_layers.h"
#include "hgc/frontend/gluon/rnn/rnn.h"

namespace hgc::gluon::rnn {

// Every RecurrentCell here is a hybrid block (Gluon's HybridRecurrentCell), and so is a stack
// of them.
using HybridRecurrentCell = RecurrentCell;
using HybridSequentialRNNCell = SequentialRNNCell;

// A cell that modifies one base cell (Gluon's ModifierCell): the base is its child
// "base_cell", its states are the base's, and reset() resets both. Subclasses define step().
class ModifierCell : public RecurrentCell {
 public:
  ModifierCell(const std::string& hint, std::shared_ptr<RecurrentCell> base, BlockArgs args = {});
  std::vector<StateInfo> state_info(int64_t batch_size) const override { return base_->state_info(batch_size); }
  void reset() override;
  std::shared_ptr<RecurrentCell> base_cell() const { return base_; }

 protected:
  std::shared_ptr<RecurrentCell> base_;
};

// output = base(x) + x (He et al.); the base cell's states. Input and hidden sizes must match.
class ResidualCell : public ModifierCell {
 public:
  explicit ResidualCell(std::shared_ptr<RecurrentCell> base, BlockArgs args = {});
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
};

// Dropout on the input (train mode only), no states; stacked between cells in a
// SequentialRNNCell.
class DropoutCell : public RecurrentCell {
 public:
  explicit DropoutCell(double rate, BlockArgs args = {});
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t) const override { return {}; }

 private:
  std::shared_ptr<nn::Dropout> drop_;
};

// Zoneout (Krueger et al.): in train mode each unit of the output / of each state keeps its
// previous value with probability zoneout_outputs / zoneout_states; in predict mode the base
// cell unchanged. The masks are drawn from the global generator, so in train mode the cell
// runs imperatively (a hybridized trace would freeze them: an error).
class ZoneoutCell : public ModifierCell {
 public:
  ZoneoutCell(std::shared_ptr<RecurrentCell> base, double zoneout_outputs = 0, double zoneout_states = 0, BlockArgs args = {});
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  void reset() override;

 private:
  double zo_, zs_;
  NDArray prev_output_;
};

// Runs l_cell left to right and r_cell right to left over the sequence and concatenates
// their outputs on the feature axis; states: l_cell's then r_cell's. Only unroll() (a single
// step has no right-to-left direction): step() throws, as Gluon's __call__ does.
class BidirectionalCell : public RecurrentCell {
 public:
  BidirectionalCell(std::shared_ptr<RecurrentCell> l_cell, std::shared_ptr<RecurrentCell> r_cell, BlockArgs args = {});
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& input, const std::vector<NDArray>& states) override;
  std::vector<StateInfo> state_info(int64_t batch_size) const override;
  UnrollResult unroll(int64_t length, const NDArray& inputs, std::vector<NDArray> begin_state = {},
                      const std::string& layout = "NTC", std::optional<bool> merge_outputs = std::nullopt);

 private:
  std::shared_ptr<RecurrentCell> l_, r_;
};

}  // namespace hgc::gluon::rnn
