// Chapter "Transferring knowledge through finetuning": a network pretrained on one task is
// fine-tuned on another: its features are kept (copied into a new net that shares the
// architecture) and a fresh output layer is trained, with a smaller rate for the features.
// The book fine-tunes an ImageNet model on hot dogs; here a CNN pretrained on five
// Fashion-MNIST classes is fine-tuned on the other five with few labels, against the same net
// trained from scratch on those few labels.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

// features: conv-pool-conv-pool-dense; output: Dense(classes).
struct Net {
  std::shared_ptr<nn::HybridSequential> features, output, net;
};
Net make(int64_t classes) {
  Net n{std::make_shared<nn::HybridSequential>(), std::make_shared<nn::HybridSequential>(),
        std::make_shared<nn::HybridSequential>()};
  n.features->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(16, {5, 5}).activation("relu")));
  n.features->add(std::make_shared<nn::MaxPool2D>());
  n.features->add(std::make_shared<nn::Conv2D>(nn::Conv2DOptions(32, {5, 5}).activation("relu")));
  n.features->add(std::make_shared<nn::MaxPool2D>());
  n.features->add(std::make_shared<nn::Flatten>());
  n.features->add(std::make_shared<nn::Dense>(nn::DenseOptions(64).activation("relu")));
  n.output->add(std::make_shared<nn::Dense>(nn::DenseOptions(classes)));
  n.net->add(n.features);
  n.net->add(n.output);
  return n;
}

// The samples of classes [lo, lo + 5), relabelled 0..4.
book::Mnist subset(const book::Mnist& d, int lo, int64_t limit) {
  auto y = d.y.to_vector<float>();
  std::vector<float> idx;
  for (size_t i = 0; i < y.size() && static_cast<int64_t>(idx.size()) < limit; ++i)
    if (y[i] >= lo && y[i] < lo + 5) idx.push_back(static_cast<float>(i));
  NDArray ix = nd::array(idx, {static_cast<int64_t>(idx.size())});
  return {nd::take(d.x, ix, 0), nd::take(d.y, ix, 0) - double(lo)};
}

void train(Net& n, const book::Mnist& d, int epochs, double lr_features, double lr_output, uint64_t seed) {
  for (auto& p : n.features->collect_params().values()) p->set_lr_mult(lr_features / lr_output);
  Trainer trainer(n.net->collect_params(), "sgd", {{"learning_rate", lr_output}, {"momentum", 0.9}});
  loss::SoftmaxCrossEntropyLoss ce;
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{d.x, d.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(32).shuffle(true).seed(seed));
  book::fit(*n.net, loader, ce, trainer, epochs);
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Transferring knowledge through finetuning",
                   "the book: ImageNet ResNet fine-tuned on hot dog photos (downloaded); here: a CNN pretrained on Fashion-MNIST "
                   "classes 0-4, fine-tuned on classes 5-9 (dataset-fashion-mnist)");
  if (ch.help) return 0;
  if (!book::have_fashion()) return book::skip("Fashion-MNIST is not installed (dataset-fashion-mnist)");
  auto tr = book::fashion(true, 0, true), te = book::fashion(false, 0, true);
  auto source = subset(tr, 0, ch.quick ? 6000 : 30000), target = subset(tr, 5, ch.quick ? 200 : 500);
  auto target_test = subset(te, 5, ch.quick ? 1000 : 5000);

  Net pre = make(5);
  pre.net->initialize(init::Xavier());
  pre.net->hybridize();
  train(pre, source, ch.budget(2, 5), 0.05, 0.05, ch.seed);
  double src_acc = book::accuracy(*pre.net, subset(te, 0, 1000).x, subset(te, 0, 1000).y);
  ch.claim(src_acc > 0.75, "pretrained on classes 0-4: accuracy ", src_acc);

  // Fine-tune: copy the features (the book's finetune_net.features = pretrained.features),
  // a fresh output layer, features at a tenth of the rate.
  nd::random::seed(ch.seed + 1);
  Net fine = make(5);
  fine.net->initialize(init::Xavier());
  (*fine.net)(target.x.slice(0, 2));
  auto src = pre.features->collect_params().values(), dst = fine.features->collect_params().values();
  for (size_t i = 0; i < src.size(); ++i) dst[i]->set_data(src[i]->data());
  fine.net->hybridize();
  int epochs = ch.budget(10, 20);
  train(fine, target, epochs, 0.005, 0.05, ch.seed);
  double fine_acc = book::accuracy(*fine.net, target_test.x, target_test.y);

  nd::random::seed(ch.seed + 1);
  Net scratch = make(5);
  scratch.net->initialize(init::Xavier());
  scratch.net->hybridize();
  train(scratch, target, epochs, 0.05, 0.05, ch.seed);
  double scratch_acc = book::accuracy(*scratch.net, target_test.x, target_test.y);
  std::printf("  classes 5-9 from %lld labelled images: fine-tuned %.3f, from scratch %.3f\n",
              (long long)target.x.shape()[0], fine_acc, scratch_acc);
  ch.claim(fine_acc > scratch_acc, "fine-tuning beats training from scratch on the same few labels (", fine_acc, " > ",
           scratch_acc, ")");
  return ch.finish();
}
