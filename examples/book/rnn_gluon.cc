// Chapter "Recurrent neural networks with gluon": the book's RNNModel (Embedding encoder,
// rnn.LSTM / GRU / RNN layer, Dense decoder, dropout) as a word-level language model,
// trained with truncated back-propagation (the hidden state detached between batches) and
// gradient clipping; the perplexity falls below the unigram baseline.
#include "book.h"

#include <map>
#include <sstream>

namespace {
using namespace hgc;
using namespace hgc::gluon;

class RNNModel : public Block {
 public:
  RNNModel(const std::string& mode, int64_t vocab, int64_t num_embed, int64_t num_hidden, int64_t num_layers, double dropout)
      : Block("rnnmodel") {
    auto scope = name_scope();
    drop = register_child(std::make_shared<nn::Dropout>(dropout), "drop");
    encoder = register_child(std::make_shared<nn::Embedding>(vocab, num_embed), "encoder");
    auto o = rnn::LayerOptions(num_hidden).num_layers(num_layers).dropout(dropout).input_size(num_embed);
    if (mode == "lstm") layer = register_child(std::make_shared<rnn::LSTM>(o), "rnn");
    else if (mode == "gru") layer = register_child(std::make_shared<rnn::GRU>(o), "rnn");
    else layer = register_child(std::make_shared<rnn::RNN>(o.activation(mode == "rnn_relu" ? "relu" : "tanh")), "rnn");
    decoder = register_child(std::make_shared<nn::Dense>(nn::DenseOptions(vocab).in_units(num_hidden).flatten(false)), "decoder");
  }
  // inputs (T, N) word indices -> (T * N, vocab) scores and the new states.
  std::pair<NDArray, std::vector<NDArray>> step(const NDArray& inputs, const std::vector<NDArray>& hidden) {
    NDArray emb = (*drop)((*encoder)(inputs));
    auto [output, h] = (*layer)(emb, hidden);
    output = (*drop)(output);
    NDArray decoded = (*decoder)(output.reshape({-1, output.shape()[2]}));
    return {decoded, h};
  }
  std::shared_ptr<nn::Dropout> drop;
  std::shared_ptr<nn::Embedding> encoder;
  std::shared_ptr<rnn::RNNLayer> layer;
  std::shared_ptr<nn::Dense> decoder;
};
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "Recurrent neural networks with gluon (word-level language model)",
                   "the book: Penn Treebank; here: the words of /usr/share/common-licenses/{GPL-3,LGPL-3,Apache-2.0}",
                   " [--mode lstm|gru|rnn_tanh|rnn_relu]");
  if (ch.help) return 0;
  std::string text;
  for (const char* f : {"GPL-3", "Apache-2.0", "LGPL-3"}) text += book::load_corpus(std::string("/usr/share/common-licenses/") + f).text + "\n";
  if (text.size() < 1000) return book::skip("the license texts are missing");
  // The book's Dictionary/Corpus: words split on white space, <eos> at line ends.
  std::map<std::string, int> word_to_idx;
  std::vector<float> ids;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ws(line + " <eos>");
    std::string w;
    while (ws >> w) {
      auto [it, fresh] = word_to_idx.emplace(w, static_cast<int>(word_to_idx.size()));
      ids.push_back(static_cast<float>(it->second));
    }
  }
  int64_t vocab = static_cast<int64_t>(word_to_idx.size());
  std::vector<double> cnt(vocab, 0);
  for (float i : ids) cnt[static_cast<size_t>(i)] += 1;
  double h = 0;
  for (double k : cnt) h -= k / ids.size() * std::log(k / ids.size());
  double unigram = std::exp(h);
  std::printf("  %zu words, vocabulary %lld, unigram perplexity %.1f\n", ids.size(), (long long)vocab, unigram);

  // batchify: (num_batches, batch) columns of consecutive words, read bptt rows at a time.
  int64_t batch_size = 32, bptt = 20;
  int64_t nb = static_cast<int64_t>(ids.size()) / batch_size;
  NDArray data = nd::array(std::vector<float>(ids.begin(), ids.begin() + nb * batch_size), {batch_size, nb}).T();
  std::string mode = ch.flag("--mode", "lstm");
  RNNModel model(mode, vocab, 100, ch.quick ? 100 : 200, 2, ch.quick ? 0.2 : 0.5);
  model.collect_params().initialize(init::Xavier());
  Trainer trainer(model.collect_params(), "sgd", {{"learning_rate", 1.0}, {"momentum", 0}, {"wd", 0}});
  loss::SoftmaxCrossEntropyLoss ce;
  int epochs = ch.budget(20, 40);
  int64_t steps = (nb - 1) / bptt;
  if (ch.quick) steps = std::min<int64_t>(steps, 150);
  double first = 0, last = 0, moving = 0;
  int it = 0;
  for (int e = 0; e < epochs; ++e) {
    std::vector<NDArray> hidden = model.layer->begin_state(batch_size);
    for (int64_t i = 0; i < steps; ++i, ++it) {
      NDArray x = data.slice(i * bptt, (i + 1) * bptt), y = data.slice(i * bptt + 1, (i + 1) * bptt + 1).reshape({-1});
      for (auto& s : hidden) s = s.detach();
      NDArray L;
      {
        auto rec = autograd::record();
        auto [output, hn] = model.step(x, hidden);
        hidden = hn;
        L = ce(output, y);
      }
      L.backward();
      std::vector<NDArray> grads;
      for (auto& p : model.collect_params().values()) grads.push_back(p->grad());
      utils::clip_global_norm(grads, 0.2 * bptt * batch_size);
      trainer.step(static_cast<double>(batch_size * bptt));
      double l = book::mean(L);
      moving = it ? 0.95 * moving + 0.05 * l : l;
      if (it == 0) first = std::exp(l);
    }
    last = std::exp(moving);
    std::printf("  epoch %d: training perplexity %.1f\n", e + 1, last);
  }
  ch.claim(first > 0.5 * vocab, "untrained: perplexity ", first, " near the vocabulary size ", vocab);
  std::printf("  %s: perplexity %.1f after %d steps; the unigram baseline is %.1f\n", mode.c_str(), last, it, unigram);
  ch.claim(last < 0.2 * first, mode, " after ", it, " steps: perplexity falls more than five-fold (", first, " -> ", last, ")");
  return ch.finish();
}
