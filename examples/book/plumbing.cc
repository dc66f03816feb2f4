// Chapters "Plumbing: a look under the hood of gluon" and "Designing a custom layer with
// gluon": a Block subclass with children (MLP), Sequential's naming and deferred shapes
// ("(128, 0)" until the first forward), a parameter-free CenteredLayer, a ParameterDict with
// a custom parameter, and MyDense with its own weight and bias, trained on images; plus the
// Block utilities of Gluon 1.9 the later chapters use: summary(), forward hooks, apply.
#include "book.h"

namespace {
using namespace hgc;
using namespace hgc::gluon;

class MLP : public Block {
 public:
  MLP() : Block("mlp") {
    auto scope = name_scope();
    dense0 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(128)), "dense0");
    dense1 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(64)), "dense1");
    dense2 = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(10)), "dense2");
  }
  NDArray forward(const NDArray& x) override {
    NDArray h = nd::relu((*dense0)(x));
    h = nd::relu((*dense1)(h));
    return (*dense2)(h);
  }
  std::shared_ptr<nn::Dense> dense0, dense1, dense2;
};

// x - mean(x): a layer without parameters.
class CenteredLayer : public Block {
 public:
  CenteredLayer() : Block("centeredlayer") {}
  NDArray forward(const NDArray& x) override { return x - nd::mean(x); }
};

// The book's MyDense: relu(x W + b) with its own parameters.
class MyDense : public Block {
 public:
  MyDense(int64_t units, int64_t in_units = 0) : Block("mydense"), units_(units) {
    auto scope = name_scope();
    weight = params().get("weight", ParamOptions().shape({in_units, units}));
    bias = params().get("bias", ParamOptions().shape({units}));
  }
  NDArray forward(const NDArray& x) override {
    if (!weight->shape_known()) weight->set_shape({x.shape()[1], units_}), weight->finish_deferred_init();
    if (!bias->initialized()) bias->finish_deferred_init();
    return nd::relu(nd::dot(x, weight->data()) + bias->data());
  }
  std::shared_ptr<Parameter> weight, bias;

 private:
  int64_t units_;
};
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Plumbing and custom layers",
                   "the book: MNIST; here: Fashion-MNIST (Debian dataset-fashion-mnist) for the training runs");
  if (ch.help) return 0;

  NameManager names;  // prefixes count from 0, as in a fresh Python session
  auto net1 = std::make_shared<MLP>();
  net1->collect_params().initialize();
  NDArray data = nd::ones({1, 784});
  ch.claim((*net1)(data).shape() == std::vector<int64_t>{1, 10}, "MLP(Block) maps (1, 784) to (1, 10)");
  ch.claim(net1->dense0->weight->name() == "mlp0_dense0_weight", "children are named in the block's scope: ",
           net1->dense0->weight->name());

  auto net2 = std::make_shared<nn::Sequential>();
  {
    auto scope = net2->name_scope();
    net2->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
    net2->add(std::make_shared<nn::Dense>(nn::DenseOptions(64).activation("relu")));
    net2->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  }
  auto pd = net2->collect_params();
  std::cout << pd << "\n";
  ch.claim(pd.values()[0]->shape() == std::vector<int64_t>{128, 0}, "before the first forward the weight is ", pd.values()[0]->str());
  pd.initialize();
  (*net2)(data);
  ch.claim(pd.values()[0]->shape() == std::vector<int64_t>{128, 784}, "after it: ", pd.values()[0]->str());

  auto centered = std::make_shared<CenteredLayer>();
  NDArray c = (*centered)(nd::array({1, 2, 3, 4, 5}));
  ch.claim(std::abs(nd::sum(c).asscalar<float>()) < 1e-6, "CenteredLayer output has mean 0");

  ParameterDict my_params("block1_");
  auto p = my_params.get("exciting_parameter_yay", ParamOptions().shape({5, 5}));
  ch.claim(p->str() == "Parameter block1_exciting_parameter_yay (shape=(5, 5), dtype=float32)", p->str());
  my_params.initialize(init::Xavier());
  ch.claim(p->data().shape() == std::vector<int64_t>{5, 5}, "the custom parameter holds a (5, 5) array after initialize");

  auto dense = std::make_shared<MyDense>(20, 10);
  dense->collect_params().initialize();
  ch.claim(dense->weight->name() == "mydense0_weight" && (*dense)(nd::ones({2, 10})).shape() == std::vector<int64_t>{2, 20},
           "MyDense(20, in_units=10): ", dense->weight->str());

  // Gluon's Block utilities: summary, hooks, apply.
  std::ostringstream sum;
  net2->summary({nd::ones({2, 784})}, sum);
  std::cout << sum.str();
  ch.claim(sum.str().find("Total params: 109386") != std::string::npos, "summary() counts 109386 parameters (784*128+128 + 128*64+64 + 64*10+10)");
  int calls = 0;
  auto h = net2->register_forward_hook([&](Block&, const std::vector<NDArray>&, const std::vector<NDArray>& out) {
    calls += out[0].shape() == std::vector<int64_t>{1, 10};
  });
  (*net2)(data);
  h.detach();
  (*net2)(data);
  ch.claim(calls == 1, "a forward hook sees the output once, and not after detach()");
  int dense_blocks = 0;
  bool last_is_net = false;
  net2->apply([&](Block& b) {
    dense_blocks += dynamic_cast<nn::Dense*>(&b) != nullptr;
    last_is_net = &b == net2.get();
  });
  ch.claim(dense_blocks == 3 && last_is_net, "apply visits the 3 Dense children, then the Sequential itself last");

  if (!book::have_fashion()) return ch.finish();
  auto tr = book::fashion(true, ch.quick ? 10000 : 0), te = book::fashion(false, 2000);
  auto ds = std::make_shared<data::ArrayDataset>(std::vector<NDArray>{tr.x, tr.y});
  data::DataLoader loader(ds, data::DataLoaderOptions(64).shuffle(true).seed(ch.seed));
  auto seq = std::make_shared<nn::Sequential>();
  seq->add(std::make_shared<MyDense>(128));
  seq->add(std::make_shared<MyDense>(64));
  seq->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
  seq->collect_params().initialize(init::Normal(0.1));
  (*seq)(te.x.slice(0, 2));
  loss::SoftmaxCrossEntropyLoss ce;
  Trainer trainer(seq->collect_params(), "sgd", {{"learning_rate", 0.1}});
  book::fit(*seq, loader, ce, trainer, ch.budget(1, 5));
  double acc = book::accuracy(*seq, te.x, te.y);
  ch.claim(acc > 0.7, "a net of MyDense layers trains: test accuracy ", acc);
  return ch.finish();
}
