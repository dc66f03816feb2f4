// Chapter "Serialization - saving, loading and checkpointing": nd.save/nd.load of a list and
// a dict, then a model's parameters with save_params/load_params into a second instance of
// the same architecture (another name prefix), which then gives the same outputs;
// checkpointing the Trainer's state as well.
#include "book.h"

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Serialization: saving, loading and checkpointing", "none (random arrays and a fresh net)");
  if (ch.help) return 0;
  using namespace hgc;
  using namespace hgc::gluon;

  NDArray X = nd::ones({100, 100}), Y = nd::zeros({100, 100});
  nd::save(ch.path("test.params"), {X, Y});
  auto A = nd::load_list(ch.path("test.params"));
  ch.claim(A.size() == 2 && nd::sum(A[0]).asscalar<float>() == 10000 && nd::sum(A[1]).asscalar<float>() == 0,
           "nd.save([X, Y]) then nd.load gives the list back");
  nd::save(ch.path("test.params"), std::map<std::string, NDArray>{{"X", X}, {"Y", Y}});
  auto B = nd::load_dict(ch.path("test.params"));
  ch.claim(B.size() == 2 && B.count("X") && nd::sum(B["X"]).asscalar<float>() == 10000, "a dict round-trips by name");

  auto make = [] {
    auto net = std::make_shared<nn::Sequential>();
    {
      auto scope = net->name_scope();
      net->add(std::make_shared<nn::Dense>(nn::DenseOptions(128).activation("relu")));
      net->add(std::make_shared<nn::Dense>(nn::DenseOptions(64).activation("relu")));
      net->add(std::make_shared<nn::Dense>(nn::DenseOptions(10)));
    }
    return net;
  };
  auto net = make();
  net->collect_params().initialize(init::Normal(0.1));
  NDArray x = nd::random::normal(0, 1, {4, 784});
  NDArray y1 = (*net)(x);
  net->save_params(ch.path("testnet.params"));
  auto net2 = make();
  ch.claim(net2->prefix() != net->prefix(), "a second instance has another prefix (", net->prefix(), " vs ", net2->prefix(), ")");
  net2->load_params(ch.path("testnet.params"));
  NDArray y2 = (*net2)(x);
  ch.claim(nd::max(nd::abs(y1 - y2)).asscalar<float>() == 0, "load_params into it gives the same outputs");
  // Gluon's newer save_parameters/load_parameters (structural names) and Trainer states.
  net->save_parameters(ch.path("net.params"));
  auto net3 = make();
  net3->load_parameters(ch.path("net.params"));
  ch.claim(nd::max(nd::abs((*net3)(x) - y1)).asscalar<float>() == 0, "save_parameters / load_parameters round-trip");
  Trainer trainer(net->collect_params(), "adam", {{"learning_rate", 0.01}});
  {
    NDArray l;
    {
      auto rec = autograd::record();
      l = nd::sum(nd::square((*net)(x)));
    }
    l.backward();
    trainer.step(4);
  }
  trainer.save_states(ch.path("trainer.states"));
  // Resuming: a new Trainer over the same parameters picks up the moments and counts.
  Trainer t2(net->collect_params(), "adam", {{"learning_rate", 0.01}});
  t2.load_states(ch.path("trainer.states"));
  ch.claim(t2.optimizer().num_update() == 1, "a checkpoint of the Trainer's state (adam moments) loads into a new Trainer");
  return ch.finish();
}
