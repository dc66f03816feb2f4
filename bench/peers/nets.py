"""The issue-10 networks in PyTorch, laid out as hgc builds them (bench/workloads.h,
models/): same layer order, weight shapes (Linear's (out, in) is Dense's), flattening order
and formulas, so hgc's weights load one to one (../parity/parity.py)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def straight_dope_mlp():
    return nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 2))


def fashion_mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(50 * 4 * 4, 500), nn.ReLU(), nn.Linear(500, 10))


S, D, H, VOCAB = 32, 32, 8, 32


def positions():
    pos = torch.arange(S, dtype=torch.float64).reshape(-1, 1) / torch.pow(
        10000.0, (2.0 / D) * torch.arange(D, dtype=torch.float64).reshape(1, -1))
    return pos.float()


class BST(nn.Module):
    """bench/workloads.h's BSTBlock (the shared peer bst.py's block, dropout 0.2)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        self.other = nn.Embedding(VOCAB, D)
        self.register_buffer("pos", positions())
        self.q = nn.Linear(D, D, bias=False)
        self.k = nn.Linear(D, D, bias=False)
        self.v = nn.Linear(D, D, bias=False)
        self.proj = nn.Linear(D, D, bias=False)
        self.drop = nn.Dropout(0.2)
        self.ln1 = nn.LayerNorm(D)
        self.ffn1 = nn.Linear(D, 32)
        self.ffn2 = nn.Linear(32, D)
        self.ln2 = nn.LayerNorm(D)
        self.head = nn.Sequential(nn.Linear(2 * S * D, 8), nn.LeakyReLU(0.1), nn.Linear(8, 4),
                                  nn.LeakyReLU(0.1), nn.Linear(4, 2), nn.LeakyReLU(0.1), nn.Linear(2, 1))

    def _split(self, t):  # (B, S, D) -> (B, H, S, D/H)
        return t.reshape(t.shape[0], t.shape[1], H, D // H).transpose(1, 2)

    def forward(self, ids, other_ids):
        x = self.emb(ids) + self.pos.unsqueeze(0)
        q = self._split(self.q(x)) / math.sqrt(D // H)
        k = self._split(self.k(x))
        v = self._split(self.v(x))
        att = self.drop(torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1))
        a = torch.matmul(att, v).transpose(1, 2).reshape(x.shape[0], x.shape[1], D)
        out = self.ln1(x + self.drop(self.proj(a)))
        f = self.drop(F.leaky_relu(self.ffn2(F.leaky_relu(self.ffn1(out), 0.1)), 0.1))
        out = self.ln2(out + f)
        out = torch.cat([out, self.other(other_ids)], dim=1).flatten(1)
        return self.head(out)


N_ITEMS, HID, LAT = 20108, 600, 200


def l2_normalize(x):
    """MXNet's L2Normalization(mode='instance'): x / sqrt(sum(x^2) + 1e-10) per row."""
    return x / torch.sqrt((x * x).sum(1, keepdim=True) + 1e-10)


class MultiVAE(nn.Module):
    """models/multivae/multivae.h with p_dims {200, 600, n_items}: dropout 0.5 on the
    normalized input, tanh between Dense layers, mu = first half, logvar = second half."""

    def __init__(self, n_items=N_ITEMS):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.enc1 = nn.Linear(n_items, HID)
        self.enc2 = nn.Linear(HID, 2 * LAT)
        self.dec1 = nn.Linear(LAT, HID)
        self.dec2 = nn.Linear(HID, n_items)

    def forward(self, x):
        h = self.enc2(torch.tanh(self.enc1(self.drop(l2_normalize(x)))))
        mu, logvar = h[:, :LAT], h[:, LAT:]
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.dec2(torch.tanh(self.dec1(z))), mu, logvar


def vae_loss(x, logits, mu, logvar, beta=0.2):
    nll = -(F.log_softmax(logits, dim=1) * x).sum(1).mean()
    kl = (-0.5 * (1 + logvar - mu * mu - torch.exp(logvar)).sum(1)).mean()
    return nll + beta * kl
