"""The PyTorch side of issue 10's suite: the workloads of build/bench/hgc_bench_workloads with
the same shapes, initialisation (Xavier), inputs, step counts and timing protocol, in PyTorch
eager mode and TorchScript (torch.jit.trace, + torch.jit.freeze for inference; training traces
net+loss, as freeze turns parameters into constants). Prints the same JSON on stdout.

  python3 bench/peers/torch_workloads.py [--only W1,W4] [--quick] [--runs N] [--threads N]

Without torch it prints a JSON object whose "skipped" says so (exit 0), so the suite runs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

# "compile" (hgc's first hybridized call) and "raw" (hgc's bounds) have no PyTorch
# counterpart: accepted, no rows.
WORKLOADS = ["W1", "W1b", "W2", "W3", "W4", "W4b", "W5", "W5d", "W6", "startup", "compile", "memory", "raw"]


def mlp_forward(a, rows, w, batch):
    import torch
    import nets
    passes = 100 if a.quick else 1000
    torch.manual_seed(0)
    net = bl.xavier_(nets.straight_dope_mlp()).eval()
    x = torch.randn(batch, 512)
    name = "mlp512 b=%d x%d fwd" % (batch, passes)
    with torch.no_grad():
        for mode in ("eager", "jit"):
            m = net if mode == "eager" else torch.jit.freeze(torch.jit.trace(net, x))

            def bench():
                for _ in range(passes):
                    m(x)
            rows.add(w, name, mode, "s/%d fwd" % passes, bl.time_batches(bench, 1, a.runs, 3))


def train_step(a, rows, w, name, make_net, inputs, loss_fn, opt_fn, inner, warmup):
    import torch
    for mode in ("eager", "jit"):
        torch.manual_seed(0)
        net = bl.xavier_(make_net()).train()

        class NetLoss(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, *xs):
                return loss_fn(self.net, *xs)
        nl = NetLoss()
        f = nl if mode == "eager" else torch.jit.trace(nl, inputs, check_trace=False)
        opt = opt_fn(net.parameters())

        def step():
            opt.zero_grad(set_to_none=True)
            f(*inputs).backward()
            opt.step()
        rows.add(w, name, mode, "s/step", bl.time_batches(step, inner, a.runs, warmup))


def fashion_batch():
    import torch
    try:
        xtr, ytr, _, _ = bl.load_fashion_mnist()
        return torch.from_numpy(xtr[:64].copy()), torch.from_numpy(ytr[:64].copy())
    except OSError:
        g = torch.Generator().manual_seed(5)
        return torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g)


def ce_loss(net, x, y):
    import torch.nn.functional as F
    return F.cross_entropy(net(x), y)


def sgd(params):
    import torch
    return torch.optim.SGD(params, lr=0.1)


def adam(params):
    import torch
    return torch.optim.Adam(params, lr=1e-3)


def fashion_step(a, rows):
    import nets
    x, y = fashion_batch()
    train_step(a, rows, "W2", "mlp784 b=64 train step", nets.fashion_mlp, (x, y), ce_loss, sgd,
               5 if a.quick else 100, 2 if a.quick else 20)


def lenet_step(a, rows):
    import nets
    x, y = fashion_batch()
    train_step(a, rows, "W3", "lenet b=64 train step", nets.lenet, (x.reshape(64, 1, 28, 28), y), ce_loss, sgd,
               2 if a.quick else 10, 1 if a.quick else 5)


def bst(a, rows, forward, train):
    import torch
    import torch.nn.functional as F
    import nets
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, nets.VOCAB, (32, nets.S), generator=g)
    other = torch.randint(0, nets.VOCAB, (32, nets.S), generator=g)
    y = (torch.rand(32, 1, generator=g) < 0.5).float()
    if forward:
        inner = 10 if a.quick else 200
        torch.manual_seed(0)
        net = bl.xavier_(nets.BST()).eval()
        with torch.no_grad():
            for mode in ("eager", "jit"):
                m = net if mode == "eager" else torch.jit.freeze(torch.jit.trace(net, (ids, other)))
                rows.add("W4", "bst b=32 forward", mode, "s/batch",
                         bl.time_batches(lambda: m(ids, other), inner, a.runs, 5))
    if train:
        def loss(net, i, o, t):
            return F.binary_cross_entropy_with_logits(net(i, o), t)
        train_step(a, rows, "W4b", "bst b=32 train step", nets.BST, (ids, other, y), loss, adam,
                   3 if a.quick else 50, 1 if a.quick else 10)


def click_matrix():
    import torch
    import nets
    g = torch.Generator().manual_seed(0)
    return (torch.rand(500, nets.N_ITEMS, generator=g) < 0.01).float()


def multivae_step(a, rows):
    """W5d: the dense step (eager and TorchScript), the peer of hgc with its sparse path off."""
    import nets
    x = click_matrix()

    def loss(net, x):
        logits, mu, logvar = net(x)
        return nets.vae_loss(x, logits, mu, logvar, 0.2)
    train_step(a, rows, "W5d", "multivae b=500 train step, dense", nets.MultiVAE, (x,), loss, adam, 1,
               1 if a.quick else 2)


def multivae_sparse_step(a, rows):
    """W5: the click matrix as a torch.sparse COO tensor (MXNet's Mult-VAE uses CSR): the
    normalization and the input dropout act on the nonzeros, the first layer is torch.sparse.mm,
    and the loss gathers log-probabilities at the clicks. The same model, weights and loss as
    W5d (dropout on the zeros of a dense input leaves them zero)."""
    import torch
    import torch.nn.functional as F
    import nets
    xs = click_matrix().to_sparse().coalesce()
    idx, val = xs.indices(), xs.values()
    B = xs.shape[0]

    class SparseVAE(nets.MultiVAE):
        def forward(self, idx, val):
            norm = torch.zeros(B).index_add_(0, idx[0], val * val)
            v = self.drop(val / torch.sqrt(norm + 1e-10)[idx[0]])
            x = torch.sparse_coo_tensor(idx, v, (B, nets.N_ITEMS))
            h = self.enc2(torch.tanh(torch.sparse.mm(x, self.enc1.weight.t()) + self.enc1.bias))
            mu, logvar = h[:, :nets.LAT], h[:, nets.LAT:]
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            logits = self.dec2(torch.tanh(self.dec1(z)))
            nll = -(F.log_softmax(logits, dim=1)[idx[0], idx[1]] * val).sum() / B
            kl = (-0.5 * (1 + logvar - mu * mu - torch.exp(logvar)).sum(1)).mean()
            return nll + 0.2 * kl

    torch.manual_seed(0)
    net = bl.xavier_(SparseVAE()).train()
    opt = adam(net.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        net(idx, val).backward()
        opt.step()
    rows.add("W5", "multivae b=500 train step, sparse clicks", "eager", "s/step",
             bl.time_batches(step, 1, a.runs, 1 if a.quick else 2))


def fashion_epoch(a, rows):
    import torch
    import nets
    try:
        xtr, ytr, xte, yte = bl.load_fashion_mnist()
    except OSError:
        rows.skipped.append("W6: Fashion-MNIST is not installed (%s)" % bl.FASHION_DIR)
        return
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    if a.quick:
        X, Y = X[:640], Y[:640]
    Xte, Yte = torch.from_numpy(xte), torch.from_numpy(yte)
    epochs = 1 if a.quick else 3
    name = "mlp784 epoch(640 images)" if a.quick else "mlp784 epoch(60k)"
    for mode in ("eager", "jit"):
        torch.manual_seed(0)
        net = bl.xavier_(nets.fashion_mlp())
        step_in = (X[:64], Y[:64])

        class NetLoss(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x, y):
                return ce_loss(self.net, x, y)
        f = NetLoss() if mode == "eager" else torch.jit.trace(NetLoss(), step_in, check_trace=False)
        opt = sgd(net.parameters())
        gen = torch.Generator().manual_seed(3)
        n = X.shape[0] - X.shape[0] % 64  # hgc's loader discards the last partial batch
        times, acc = [], 0.0
        for _ in range(epochs):
            t0 = time.perf_counter()
            perm = torch.randperm(X.shape[0], generator=gen)
            for i in range(0, n, 64):
                idx = perm[i:i + 64]
                opt.zero_grad(set_to_none=True)
                f(X[idx], Y[idx]).backward()
                opt.step()
            times.append(time.perf_counter() - t0)
            with torch.no_grad():
                acc = (net(Xte).argmax(1) == Yte).float().mean().item()
        rows.add("W6", name + " first", mode, "s/epoch", times[:1], test_accuracy=acc if len(times) == 1 else None)
        if len(times) > 1:
            rows.add("W6", name, mode, "s/epoch", times[1:], test_accuracy=acc)


def startup(a, rows):
    """New process to first result: python3 -c 'import torch' + the MLP + one forward (eager),
    or + torch.jit.load of the frozen traced MLP (jit). The first spawn warms the cache."""
    import torch
    import nets
    tmp = tempfile.mkdtemp(prefix="hgc_bench_torch_")
    with torch.no_grad():
        torch.jit.save(torch.jit.freeze(torch.jit.trace(nets.straight_dope_mlp().eval(), torch.randn(1, 512))),
                       os.path.join(tmp, "mlp.pt"))
    th = "torch.set_num_threads(%d); " % a.threads if a.threads else ""
    cases = {
        "eager": "import torch, torch.nn as nn; " + th + "m = nn.Sequential(nn.Linear(512,256), nn.ReLU(), "
                 "nn.Linear(256,128), nn.ReLU(), nn.Linear(128,2)); print(m(torch.randn(1,512)).sum().item())",
        "jit": "import torch; " + th + "m = torch.jit.load('%s'); print(m(torch.randn(1,512)).sum().item())"
               % os.path.join(tmp, "mlp.pt"),
    }
    env = dict(os.environ)
    env.pop("_HGC_BENCH_REEXEC", None)
    for mode, code in cases.items():
        subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)
        vals = []
        for _ in range(3 if a.quick else max(a.runs, 10)):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)
            vals.append(time.perf_counter() - t0)
        rows.add("startup", "new process -> first result (mlp512 b=1)", mode, "s/process", vals)


# A fresh process per network: hgc's "memory" rows run the same loops (random 64-image
# batches, SGD 0.1, 200 MLP / 20 LeNet steps) and report the same figures: the peak resident
# set (VmHWM: ru_maxrss would carry the parent's peak across exec) and its growth over the
# resident set after the imports.
MEMORY_CHILD = """
import sys, torch, torch.nn.functional as F
sys.path.insert(0, %r)
import benchlib as bl, nets
%s
base = bl.rss_now()  # after the imports: the growth below is the training loop's own
torch.manual_seed(0)
net = bl.xavier_(nets.%s()).train()
x, y = torch.rand(%s), torch.randint(0, 10, (64,))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for _ in range(%d):
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    opt.step()
print(bl.peak_rss(), base)
"""


def memory(a, rows):
    here = os.path.dirname(os.path.abspath(__file__))
    th = "torch.set_num_threads(%d)" % a.threads if a.threads else ""
    env = dict(os.environ)
    env.pop("_HGC_BENCH_REEXEC", None)
    for net, shape, steps, name in (("fashion_mlp", "64, 784", 200, "peak RSS, mlp784 b=64 x200 train steps"),
                                    ("lenet", "64, 1, 28, 28", 20, "peak RSS, lenet b=64 x20 train steps")):
        code = MEMORY_CHILD % (here, th, net, shape, steps)
        out = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
        peak, base = (float(v) for v in out.stdout.split()[-2:])
        rows.add("memory", name, "eager", "bytes", [peak])
        rows.add("memory", name.replace("peak RSS", "peak RSS growth over the post-import baseline"), "eager", "bytes",
                 [peak - base])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma list of " + ",".join(WORKLOADS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="0: leave torch's default")
    a = ap.parse_args()
    only = set(w for w in a.only.split(",") if w)
    bad = only - set(WORKLOADS)
    if bad:
        ap.error("unknown workload(s): " + ",".join(sorted(bad)))
    if a.quick:
        a.runs = min(a.runs, 2)
    if not bl.ensure_torch():
        json.dump({"side": "torch", "machine": {}, "quick": a.quick, "rows": [],
                   "skipped": ["torch is not importable (apt-get install python3-torch python3-numpy)"]}, sys.stdout)
        sys.stdout.write("\n")
        return
    threads = bl.set_threads(a.threads)
    rows = bl.Rows("torch")

    def want(w):
        return not only or w in only
    jobs = [("W1", lambda: mlp_forward(a, rows, "W1", 1)), ("W1b", lambda: mlp_forward(a, rows, "W1b", 64)),
            ("W2", lambda: fashion_step(a, rows)), ("W3", lambda: lenet_step(a, rows)),
            ("W4", lambda: bst(a, rows, want("W4"), want("W4b"))), ("W5", lambda: multivae_sparse_step(a, rows)),
            ("W5d", lambda: multivae_step(a, rows)),
            ("W6", lambda: fashion_epoch(a, rows)), ("startup", lambda: startup(a, rows)),
            ("memory", lambda: memory(a, rows))]
    for w, job in jobs:
        if want(w) or (w == "W4" and want("W4b")):
            try:
                job()
            except Exception as e:  # one failing workload leaves the others' figures
                rows.skipped.append("%s: %s: %s" % (w, type(e).__name__, e))
                sys.stderr.write("%s FAILED: %s\n" % (w, e))
    rows.dump(a.quick, threads)


if __name__ == "__main__":
    main()
