"""PyTorch's side of issue 20's bfloat16 rows (bench/bench_amp.cc): W1b, W2, W3, W5 in
float32 and under torch.autocast("cpu", dtype=torch.bfloat16), eager, all cores, the median
of RUNS timings in ms. Run with DNNL_VERBOSE=1 to see the ISA of oneDNN's kernels.

    python3 bench/peers/torch_amp.py [--runs N]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ensure_torch, set_threads  # noqa: E402

if not ensure_torch():
    sys.exit("torch is not installed (python3-torch)")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import nets  # noqa: E402


def median_ms(fn, inner, runs, warmup):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        t.append((time.perf_counter() - t0) / inner)
    return 1e3 * statistics.median(t)


def classifier(make, x, y):
    torch.manual_seed(0)
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    set_threads(os.cpu_count())
    torch.manual_seed(0)
    work = []
    net = nets.straight_dope_mlp().eval()
    x = torch.randn(64, 512)

    def fwd():
        with torch.no_grad():
            net(x)
    work.append(("W1b mlp512 b=64 fwd", fwd, 100, 10))
    y = torch.arange(64) % 10
    work.append(("W2 mlp784 b=64 train step", classifier(nets.fashion_mlp, torch.rand(64, 784), y), 20, 5))
    work.append(("W3 lenet b=64 train step", classifier(nets.lenet, torch.rand(64, 1, 28, 28), y), 10, 3))
    vae = nets.MultiVAE()
    xv = (torch.rand(500, nets.N_ITEMS) < 0.01).float()
    opt = torch.optim.Adam(vae.parameters(), lr=1e-3)

    def vae_step():
        opt.zero_grad()
        logits, mu, logvar = vae(xv)
        nets.vae_loss(xv, logits, mu, logvar).backward()
        opt.step()
    work.append(("W5 multivae b=500 train step", vae_step, 1, 1))
    print("| workload | torch float32 | torch autocast bfloat16 | autocast speed-up |\n|---|---|---|---|")
    for name, fn, inner, warmup in work:
        f32 = median_ms(fn, inner, a.runs, warmup)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf = median_ms(fn, inner, a.runs, warmup)
        print(f"| {name} | {f32:.3f} ms | {bf:.3f} ms | {f32 / bf:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
