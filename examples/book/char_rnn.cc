// Chapters "Recurrent neural networks for language modeling", "Long short-term memory
// (LSTM) RNNs" and "Gated recurrent unit (GRU) RNNs": character-level language models
// written from scratch (one-hot inputs, the cell's equations in nd ops, softmax outputs,
// cross-entropy averaged over time, gradient clipping, SGD), trained with truncated
// back-propagation over consecutive sequences, then sampled with a temperature.
#include "book.h"

namespace {
using namespace hgc;

struct Model {
  std::string cell;
  std::vector<NDArray> params;  // per gate: Wx, Wh, b; then Why, by
  int gates = 1;
  int64_t hidden = 0;
};

Model make(const std::string& cell, int64_t vocab, int64_t hidden) {
  Model m{cell, {}, cell == "rnn" ? 1 : cell == "lstm" ? 4 : 3, hidden};
  for (int g = 0; g < m.gates; ++g) {
    m.params.push_back(nd::random::normal(0, 0.01, {vocab, hidden}));
    m.params.push_back(nd::random::normal(0, 0.01, {hidden, hidden}));
    m.params.push_back(nd::zeros({hidden}));
  }
  m.params.push_back(nd::random::normal(0, 0.01, {hidden, vocab}));
  m.params.push_back(nd::zeros({vocab}));
  for (auto& p : m.params) p.attach_grad();
  return m;
}

// One step: the book's equations per cell. state = {h} or {h, c}.
NDArray step(Model& m, const NDArray& X, std::vector<NDArray>& state) {
  auto gate = [&](int g, const NDArray& h) { return nd::dot(X, m.params[3 * g]) + nd::dot(h, m.params[3 * g + 1]) + m.params[3 * g + 2]; };
  NDArray h = state[0];
  if (m.cell == "rnn") {
    h = nd::tanh(gate(0, h));
  } else if (m.cell == "lstm") {
    NDArray g = nd::tanh(gate(0, h)), i = nd::sigmoid(gate(1, h)), f = nd::sigmoid(gate(2, h)), o = nd::sigmoid(gate(3, h));
    state[1] = f * state[1] + i * g;
    h = o * nd::tanh(state[1]);
  } else {  // gru: z update, r reset, candidate from r * h
    NDArray z = nd::sigmoid(gate(0, h)), r = nd::sigmoid(gate(1, h));
    NDArray cand = nd::tanh(nd::dot(X, m.params[6]) + nd::dot(r * h, m.params[7]) + m.params[8]);
    h = z * h + (1 - z) * cand;
  }
  state[0] = h;
  return nd::dot(h, m.params[3 * m.gates]) + m.params[3 * m.gates + 1];
}

std::vector<NDArray> zero_state(const Model& m, int64_t batch) {
  std::vector<NDArray> s{nd::zeros({batch, m.hidden})};
  if (m.cell == "lstm") s.push_back(nd::zeros({batch, m.hidden}));
  return s;
}

// Samples `n` characters after `prefix` at `temperature`.
std::string sample(Model& m, const book::Corpus& c, const std::string& prefix, int n, double temperature) {
  autograd::Scope off(false, false);
  std::vector<NDArray> state = zero_state(m, 1);
  std::string out = prefix;
  NDArray logits;
  for (char ch : prefix) logits = step(m, nd::one_hot(nd::array({float(c.char_to_idx[(unsigned char)ch])}), c.vocab()), state);
  for (int i = 0; i < n; ++i) {
    auto p = nd::softmax(logits / temperature).to_vector<float>();
    double u = nd::random::uniform(0, 1, {1}, DType::f64).asscalar<double>(), acc = 0;
    size_t k = 0;
    while (k + 1 < p.size() && (acc += p[k]) < u) ++k;
    out += c.idx_to_char[k];
    logits = step(m, nd::one_hot(nd::array({float(k)}), c.vocab()), state);
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  book::Chapter ch(argc, argv, "RNN, LSTM and GRU language models from scratch",
                   "the book: The Time Machine; here: /usr/share/common-licenses/GPL-3 (any Debian system)", " [--cell rnn|lstm|gru]");
  if (ch.help) return 0;
  book::Corpus corpus = book::load_corpus();
  if (corpus.indices.empty()) return book::skip("/usr/share/common-licenses/GPL-3 is missing");
  int64_t vocab = corpus.vocab(), seq_length = 32, batch_size = 32, hidden = ch.quick ? 128 : 256;
  double base = book::unigram_perplexity(corpus);
  std::printf("  %zu characters, vocabulary %lld, unigram perplexity %.2f\n", corpus.text.size(), (long long)vocab, base);
  ch.claim(vocab > 40 && vocab < 120, "a character vocabulary of ", vocab);

  // The book's batching: the text cut into batch_size parallel streams, read seq_length at a time.
  int64_t per_stream = static_cast<int64_t>(corpus.indices.size()) / batch_size;
  NDArray streams = nd::array(std::vector<float>(corpus.indices.begin(), corpus.indices.begin() + per_stream * batch_size),
                              {batch_size, per_stream});
  int64_t num_seqs = (per_stream - 1) / seq_length;
  int iters = ch.budget(6, 20) * static_cast<int>(std::min<int64_t>(num_seqs, ch.quick ? 120 : num_seqs));

  std::vector<std::string> cells = {"rnn", "lstm", "gru"};
  if (!ch.flag("--cell").empty()) cells = {ch.flag("--cell")};
  for (const std::string& cell : cells) {
    nd::random::seed(ch.seed);
    Model m = make(cell, vocab, hidden);
    std::vector<NDArray> state = zero_state(m, batch_size);
    double first = 0, last = 0, moving = 0;
    for (int it = 0; it < iters; ++it) {
      int64_t s = (it % num_seqs) * seq_length;
      if (it % num_seqs == 0) state = zero_state(m, batch_size);
      for (auto& st : state) st = st.detach();  // truncated back-propagation
      NDArray loss;
      {
        auto rec = autograd::record();
        NDArray total;
        for (int64_t t = 0; t < seq_length; ++t) {
          NDArray x = nd::one_hot(streams.slice_axis(1, s + t, s + t + 1).reshape({batch_size}), vocab);
          NDArray y = streams.slice_axis(1, s + t + 1, s + t + 2).reshape({batch_size});
          NDArray out = step(m, x, state);
          NDArray l = -nd::sum(nd::one_hot(y, vocab) * nd::log_softmax(out));
          total = total.defined() ? total + l : l;
        }
        loss = total / double(seq_length * batch_size);
      }
      loss.backward();
      std::vector<NDArray> grads;
      for (auto& p : m.params) grads.push_back(p.grad());
      gluon::utils::clip_global_norm(grads, 5.0);
      double lr = cell == "rnn" ? 1.0 : 3.0;
      for (auto& p : m.params) p -= lr * p.grad();
      double l = loss.asscalar<double>();
      moving = it ? 0.95 * moving + 0.05 * l : l;
      if (it == 0) first = std::exp(l);
      last = std::exp(moving);
    }
    std::string text = sample(m, corpus, "The ", 60, 0.5);
    std::printf("  %s sample: %s\n", cell.c_str(), text.c_str());
    ch.claim(first > 0.7 * vocab, cell, ": an untrained model's perplexity ", first, " is near the vocabulary size");
    ch.claim(last < base, cell, ": after ", iters, " steps the perplexity ", last,
             " beats the unigram baseline ", base);
    ch.claim(text.size() == 64, cell, ": sampling with temperature 0.5 writes text");
  }
  return ch.finish();
}
