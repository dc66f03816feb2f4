// The PyTorch seed's BSTransformer trained as its Trainer does — AdamW, cross-entropy of the
// next item, gradient-norm clipping before every step, a multi-step lr schedule stepped per
// batch, the seed's batch_fn (shuffled, left-padded, whole batches) — hybridized, on seeded
// synthetic sequences with planted tastes (bst/synthetic.h); per epoch the held-out
// hit-rate@10 against a popularity ranking.
//
//   ./build/models/hgc_train_bst_torch [epochs] [export-prefix] [--dump DIR]
//
// hgc's AdamW is MXNet's (bias-corrected rate, decay scaled by it), not torch.optim.AdamW.
// --dump DIR writes the weights, 8 held-out rows and the predict-mode logits as .npy for
// bench/parity/bst_parity.py.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "common/cli.h"
#include "bst/bst_common.h"
#include "bst/bst_torch.h"
#include "bst/synthetic.h"

using namespace hgc;
using namespace hgc::gluon;

int main(int argc, char** argv) try {
  if (models::wants_help(argc, argv, "[epochs] [export-prefix] [--dump DIR]")) return 0;
  auto [epochs, prefix, dump] = models::parse_train_args(argc, argv, 10);

  models::BSTConfig cfg;  // the seed's config_sample.py
  models::NextItemOptions so;
  so.n_items = cfg.item_embed.num_embeddings;
  so.max_len = cfg.max_seq_len;
  auto d = models::make_next_item_data(so);
  const int64_t batch = 64, L = cfg.max_seq_len;
  const double clip = 5.0;
  auto test = models::bst_batch_fn(d.test.seq, d.test.context, d.test.target, d.test.seq.size(), L, false);
  double base = models::hit_rate_at_k(models::popularity_next_item_scores(d, d.test.seq.size()), d.test.target, 10);
  std::printf("synthetic sequences: %zu train / %zu test users, %lld items, histories of %lld..%lld; popularity hit-rate@10 %.4f\n",
              d.train.seq.size(), d.test.seq.size(), static_cast<long long>(d.n_items), static_cast<long long>(so.min_len),
              static_cast<long long>(so.max_len), base);

  nd::random::seed(100);
  models::BSTransformer net(cfg);
  net.initialize(init::Xavier());  // the seed's init_method 'xavier' (xavier_uniform_)
  net.hybridize();
  const int64_t steps_per_epoch = static_cast<int64_t>(d.train.seq.size()) / batch;
  // MultiStepLR(milestones, gamma=0.1) stepped once per batch.
  auto sched = std::make_shared<lr_scheduler::MultiFactorScheduler>(
      std::vector<int64_t>{steps_per_epoch * epochs * 6 / 10 + 1, steps_per_epoch * epochs * 85 / 100 + 2},
      lr_scheduler::MultiFactorOptions().factor(0.1).base_lr(1e-3));
  Trainer trainer(net.collect_params(), "adamw", {{"wd", 0.01}}, sched);
  std::vector<NDArray> grads;
  for (auto& p : net.collect_params().values())
    if (p->grad_req() != "null") grads.push_back(p->grad());
  loss::SoftmaxCrossEntropyLoss ce;
  std::mt19937_64 rng(5);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    auto batches = models::bst_batch_fn(d.train.seq, d.train.context, d.train.target, batch, L, true, &rng);
    double loss_sum = 0, norm_sum = 0;
    int64_t steps = 0;
    utils::ProgressBar bar(static_cast<int64_t>(batches.size()),
                           utils::ProgressOptions().desc("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs)));
    for (const auto& b : batches) {
      NDArray l;
      {
        auto r = autograd::record();
        l = nd::mean(ce(net(b.x, b.context), b.target));
      }
      l.backward();
      norm_sum += utils::clip_global_norm(grads, clip);  // torch.nn.utils.clip_grad_norm_
      trainer.step(1);                                    // the loss is already a batch mean
      loss_sum += l.asscalar();
      ++steps;
      bar.set_postfix({{"loss", loss_sum / steps}, {"lr", trainer.learning_rate()}});
      bar.update(1, batch);
    }
    bar.close();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    NDArray logits = net(test[0].x, test[0].context);
    double hr = models::hit_rate_at_k(logits, d.test.target, 10);
    double test_loss = nd::mean(ce(logits, test[0].target)).asscalar();
    std::printf("epoch %2d: train loss %.4f (mean grad norm %.3f), held-out loss %.4f, hit-rate@10 %.4f (popularity %.4f), %.2f s\n",
                epoch + 1, loss_sum / steps, norm_sum / steps, test_loss, hr, base, s);
  }
  if (!prefix.empty()) {
    net.export_model(prefix, epochs);
    std::printf("exported %s-symbol.json and %s-%04d.params\n", prefix.c_str(), prefix.c_str(), epochs);
  }
  if (!dump.empty()) {
    NDArray x = test[0].x.slice(0, 8), c = test[0].context.slice(0, 8);
    models::dump_npy(dump, net, {{"x", x}, {"context", c}, {"out", net(x, c)}});
    std::printf("wrote weights, inputs and output to %s\n", dump.c_str());
  }
  return 0;
} catch (const hgc::Error& e) {
  std::cerr << "error: " << e.what() << "\n";
  return 1;
}
