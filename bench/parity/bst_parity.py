#!/usr/bin/env python3
"""Forward parity of hgc's BST models against PyTorch.

The C++ example programs write the weights, a few held-out inputs and hgc's predict-mode
output as .npy:

    build/models/hgc_train_bst_torch 1 --dump /tmp/bst_torch
    build/models/hgc_train_bst_mxnet 1 --dump /tmp/bst_mxnet
    python3 bench/parity/bst_parity.py /tmp/bst_torch /tmp/bst_mxnet

A dump with context.npy is the PyTorch seed's BSTransformer: the seed's own classes (copied
below, unchanged but for taking the config as an argument) are built, loaded with hgc's
weights and run in eval mode. A dump with x_other.npy is the MXNet seed's Rec; there is no
MXNet here, so its forward is written out in torch ops following the seed's GluonNLP code
(div_sqrt_dim, batch_dot, the BST positional table, LeakyReLU(0.1), concat on dim 1).
Both must agree with hgc to 1e-5 (max |diff| / max(1, |ref|)). Exits 0 with a message when
torch or numpy is missing.
"""
import os
import sys

TOL = 1e-5

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:
    print("bst_parity: skipped (%s; Debian's python3-torch provides both numpy and torch for /usr/bin/python3)" % e)
    sys.exit(0)


# ---- the PyTorch seed (001_93bb2becae1b775a), model classes verbatim ----
class FF(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.lin_1 = nn.Linear(input_size, hidden_size)
        self.lin_2 = nn.Linear(hidden_size, input_size)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.lin_2(self.relu(self.lin_1(x)))


class MultiHeadAttention(nn.Module):
    def __init__(self, att_dim, n_heads):
        super().__init__()
        self.n_heads = n_heads
        assert att_dim % self.n_heads == 0
        self.att_size = int(att_dim / n_heads)
        self._query = nn.Linear(att_dim, att_dim, bias=False)
        self._key = nn.Linear(att_dim, att_dim, bias=False)
        self._value = nn.Linear(att_dim, att_dim, bias=False)
        self.dense = nn.Linear(att_dim, att_dim, bias=False)
        self.activation = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(0.1)

    def forward(self, q, k, v, mask=None):
        scale_factor = torch.sqrt(torch.FloatTensor([self.n_heads])).item()
        batch_size = q.size(0)
        _query = self._query(q).view(batch_size, -1, self.n_heads, self.att_size).transpose(1, 2)
        _key = self._key(k).view(batch_size, -1, self.n_heads, self.att_size).transpose(1, 2)
        _value = self._value(v).view(batch_size, -1, self.n_heads, self.att_size).transpose(1, 2)
        score = torch.matmul(_query, _key.transpose(-2, -1)) / scale_factor
        if mask is not None:
            mask = mask.unsqueeze(1)
            score = score.masked_fill(mask == 0, -1e9)
        score = self.activation(score)
        z = torch.matmul(self.dropout(score), _value)
        z = z.transpose(1, 2).reshape(batch_size, -1, self.att_size * self.n_heads)
        return self.dense(z)


class EncoderCell(nn.Module):
    def __init__(self, input_size, hidden_size, n_heads):
        super().__init__()
        self.mh_attention = MultiHeadAttention(input_size, n_heads)
        self.lnorm_1 = nn.LayerNorm(input_size)
        self.ff = FF(input_size, hidden_size)
        self.lnorm_2 = nn.LayerNorm(input_size)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, mask=None):
        attention_out = self.mh_attention(x, x, x, mask)
        attention_out = self.lnorm_1(self.dropout(attention_out) + x)
        ff_attention = self.ff(attention_out)
        return self.lnorm_2(self.dropout(ff_attention) + attention_out)


class Encoder(nn.Module):
    def __init__(self, input_size, hidden_size, n_layers, n_heads):
        super().__init__()
        self.stack = nn.ModuleList()
        for layer in range(n_layers):
            self.stack.append(EncoderCell(input_size, hidden_size, n_heads))
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, mask=None):
        for cell in self.stack:
            x = cell(self.dropout(x), mask)
        return x


class BSTransformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.item_embed = nn.Embedding(num_embeddings=config['item_embed']['num_embeddings'],
                                       embedding_dim=config['item_embed']['embedding_dim'],
                                       padding_idx=config['item_embed']['padding_idx'])
        self.pos_embedding = self.pos_embedding_sinusoidal(config['max_seq_len'],
                                                           config['item_embed']['embedding_dim'],
                                                           config['cuda'])
        self.context_embeddings = nn.ModuleList([nn.Embedding(num_embeddings=feat['num_embeddings'],
                                                              embedding_dim=feat['embedding_dim'],
                                                              padding_idx=feat['padding_idx'])
                                                 for feat in config['context_features']])
        self.encoder = Encoder(input_size=config['trans']['input_size'],
                               hidden_size=config['trans']['hidden_size'],
                               n_layers=config['trans']['n_layers'],
                               n_heads=config['trans']['n_heads'])
        mlp_input_size = config['trans']['input_size'] + sum(
            [feat['embedding_dim'] for feat in config['context_features']])
        self.mlp = nn.Sequential(nn.Linear(mlp_input_size, config['mlp_hidden']),
                                 nn.LeakyReLU(),
                                 nn.Linear(config['mlp_hidden'], config['item_embed']['num_embeddings']))

    def forward(self, x, context):
        targets = x[..., -1:].long()
        enc_mask = self.get_mask(x)
        item_embed = self.item_embed(x.long()) * np.sqrt(self.config['item_embed']['embedding_dim'])
        agg_encoding = torch.mean(self.encoder(item_embed + self.pos_embedding[:x.size(1), :], mask=enc_mask), dim=1)
        context_embs = torch.tensor([]).to(x.device)
        for emb, feat in zip(self.context_embeddings, context):
            context_embs = torch.cat([context_embs, emb(feat)], dim=1)
        output = self.mlp(torch.cat([agg_encoding, context_embs], dim=1))
        return output, targets

    def get_mask(self, x):
        seq_len = x.size(1)
        mask = (x != 0).unsqueeze(1).byte()
        triu = (np.triu(np.ones([1, seq_len, seq_len]), k=1) == 0).astype('uint8')
        return torch.ByteTensor(triu) & torch.ByteTensor(mask)

    @staticmethod
    def pos_embedding_sinusoidal(max_seq_len, embedding_dim, is_cuda):
        half_dim = embedding_dim // 2
        emb = torch.log(torch.tensor(10000)) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, dtype=torch.float) * -emb)
        emb = torch.arange(max_seq_len, dtype=torch.float).unsqueeze(1) * emb.unsqueeze(0)
        emb = torch.stack((torch.sin(emb), torch.cos(emb)), dim=0).view(
            max_seq_len, -1).t().contiguous().view(max_seq_len, -1)
        if embedding_dim % 2 == 1:
            emb = torch.cat([emb, torch.zeros(max_seq_len, 1)], dim=1)
        return emb


def load(d, name):
    return torch.from_numpy(np.load(os.path.join(d, name)))


def params(d):
    out = {}
    for f in os.listdir(d):
        if f.startswith("param.") and f.endswith(".npy"):
            out[f[len("param."):-len(".npy")]] = load(d, f)
    return out


def torch_name(hgc_name):
    """hgc's structural names (save_parameters) to the seed's state_dict names."""
    n = hgc_name.replace(".gamma", ".weight").replace(".beta", ".bias")
    for i in range(16):
        n = n.replace("stack%d." % i, "stack.%d." % i)
        n = n.replace("context_embeddings%d." % i, "context_embeddings.%d." % i)
    n = n.replace(".lin_1.", ".ff.lin_1.").replace(".lin_2.", ".ff.lin_2.")
    return n


def check(name, got, want):
    err = float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))
    ok = err <= TOL
    print("%s: max relative difference %.3g over %d values (tolerance %g): %s"
          % (name, err, want.size, TOL, "ok" if ok else "MISMATCH"))
    return ok


def torch_parity(d):
    p = params(d)
    state = {torch_name(k): v for k, v in p.items() if k not in ("pos_embedding", "causal_mask")}
    n_items, dim = state["item_embed.weight"].shape
    n_layers = len({k.split(".")[2] for k in state if k.startswith("encoder.stack.")})
    hidden = state["encoder.stack.0.ff.lin_1.weight"].shape[0]
    ctx = [state["context_embeddings.%d.weight" % i].shape for i in range(16)
           if "context_embeddings.%d.weight" % i in state]
    max_len = p["pos_embedding"].shape[0]
    n_heads = int(open(os.path.join(d, "n_heads.txt")).read()) if os.path.exists(os.path.join(d, "n_heads.txt")) else 4
    config = {'item_embed': {'num_embeddings': n_items, 'embedding_dim': dim, 'padding_idx': -1},
              'trans': {'input_size': dim, 'hidden_size': hidden, 'n_layers': n_layers, 'n_heads': n_heads},
              'context_features': [{'num_embeddings': n, 'embedding_dim': e, 'padding_idx': -1} for n, e in ctx],
              'cuda': False, 'max_seq_len': max_len, 'mlp_hidden': state["mlp.0.weight"].shape[0]}
    net = BSTransformer(config)
    net.load_state_dict(state, strict=True)
    net.eval()
    ok = check("sinusoidal table", p["pos_embedding"].numpy(), net.pos_embedding.numpy())
    x = load(d, "x.npy").long()
    context = load(d, "context.npy").long().t()  # the seed's context: one (B,) tensor per feature
    with torch.no_grad():
        out, _ = net(x, context)
    return check("BSTransformer forward", load(d, "out.npy").numpy(), out.numpy()) and ok


def mxnet_rec_forward(p, x, x_other, n_heads, mask=None):
    """The MXNet seed's Rec.hybrid_forward (predict mode) in torch ops."""
    lrelu = lambda t: torch.nn.functional.leaky_relu(t, 0.1)
    ln = lambda t, pre: torch.nn.functional.layer_norm(t, t.shape[-1:], p[pre + ".gamma"], p[pre + ".beta"], 1e-5)
    dense = lambda t, pre: t @ p[pre + ".weight"].t() + (p[pre + ".bias"] if pre + ".bias" in p else 0)
    x1 = p["otherfeatures.weight"][x_other]
    h = p["features.weight"][x]
    L = h.shape[1]
    h = h + p["position_weight"][:L].unsqueeze(0)  # F.Embedding(arange(L), BST table)
    B, _, U = h.shape

    def project(t, name):  # MultiHeadAttentionCell._project
        t = dense(t, "cell.proj_" + name)
        return t.reshape(B, L, n_heads, -1).permute(0, 2, 1, 3).reshape(B * n_heads, L, -1)
    q, k, v = project(h, "query"), project(h, "key"), project(h, "value")
    q = q / np.sqrt(q.shape[-1])  # F.contrib.div_sqrt_dim
    score = torch.bmm(q, k.transpose(1, 2))
    if mask is None:
        w = torch.softmax(score, dim=-1)
    else:  # _masked_softmax, the mask repeated per head (broadcast_axis + reshape)
        m = mask.unsqueeze(1).expand(B, n_heads, L, L).reshape(B * n_heads, L, L)
        w = torch.softmax(torch.where(m != 0, score, torch.full_like(score, -1e18)), dim=-1) * m
    ctx = torch.bmm(w, v).reshape(B, n_heads, L, -1).permute(0, 2, 1, 3).reshape(B, L, -1)
    out = dense(ctx, "proj")
    out = ln(h + out, "layer_norm")
    f = lrelu(dense(lrelu(dense(out, "ffn.ffn_1")), "ffn.ffn_2"))  # the seed's FFN: activation after both
    out = ln(f + out, "ffn.layer_norm")
    out = torch.cat([out, x1], dim=1).reshape(B, -1)  # mx.nd.concat(dim=1), then Dense flattens
    i = 0
    while "output.%d.weight" % i in p:
        out = dense(out, "output.%d" % i)
        if "output.%d.weight" % (i + 2) in p:
            out = lrelu(out)
        i += 2
    return out


def mxnet_parity(d):
    p = params(d)
    n_heads = int(open(os.path.join(d, "n_heads.txt")).read()) if os.path.exists(os.path.join(d, "n_heads.txt")) else 8
    with torch.no_grad():
        mask = load(d, "mask.npy") if os.path.exists(os.path.join(d, "mask.npy")) else None
        out = mxnet_rec_forward(p, load(d, "x.npy").long(), load(d, "x_other.npy").long(), n_heads, mask)
    return check("BSTRec forward", load(d, "out.npy").numpy(), out.numpy())


def main(dirs):
    if not dirs:
        print(__doc__)
        return 2
    ok = True
    for d in dirs:
        if os.path.exists(os.path.join(d, "context.npy")):
            ok = torch_parity(d) and ok
        elif os.path.exists(os.path.join(d, "x_other.npy")):
            ok = mxnet_parity(d) and ok
        else:
            print("%s: not a BST dump (no context.npy or x_other.npy)" % d)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
