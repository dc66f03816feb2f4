"""Parity of hgc's models with PyTorch (issue 7): rebuilds the Straight Dope MLP, the Fashion
MLP, LeNet, MultiVAE and the bench's BST block (W4, W4b; predict mode) in PyTorch (bench/peers/nets.py), loads the weights
hgc_parity_dump wrote, runs the same input and compares with hgc's imperative and hybridized
outputs: |hgc - torch| <= 1e-5 + 1e-5 |torch| elementwise.

  build/bench/hgc_parity_dump DIR && python3 bench/parity/parity.py DIR

Exit 0: all match; 1: a mismatch (printed), or torch is not installed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
import benchlib as bl  # noqa: E402

ATOL = RTOL = 1e-5


def load_into(module, d, buffers=()):
    """Assigns p0.npy, p1.npy, ... to the module's parameters in order (hgc's creation order
    is the torch modules' order for these nets), the first len(buffers) of them to those
    buffers instead (hgc's constant parameters, e.g. BST's positional table); shapes must
    agree exactly."""
    import numpy as np
    import torch
    with open(os.path.join(d, "params.txt")) as f:
        names = [ln.split()[0] for ln in f if ln.strip()]
    params = [getattr(module, b) for b in buffers] + list(module.parameters())
    if len(params) != len(names):
        raise SystemExit("%s: hgc has %d parameters, torch %d" % (d, len(names), len(params)))
    with torch.no_grad():
        for k, (name, p) in enumerate(zip(names, params)):
            v = torch.from_numpy(np.load(os.path.join(d, "p%d.npy" % k)))
            if tuple(v.shape) != tuple(p.shape):
                raise SystemExit("%s: %s is %s in hgc, torch wants %s" % (d, name, tuple(v.shape), tuple(p.shape)))
            p.copy_(v)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    if not bl.ensure_torch():  # an oracle the project installs (scripts/setup.sh): its absence fails
        print("FAIL: torch is not importable (scripts/setup.sh installs python3-torch python3-numpy)")
        return 1
    import numpy as np
    import torch
    import nets
    torch.set_num_threads(1)
    root = sys.argv[1]
    models = {"straight_dope_mlp": (nets.straight_dope_mlp, lambda m, x: m(x)),
              "fashion_mlp": (nets.fashion_mlp, lambda m, x: m(x)),
              "lenet": (nets.lenet, lambda m, x: m(x)),
              "multivae": (nets.MultiVAE, lambda m, x: m(x)[0]),
              "bst_block": (nets.BST, None)}
    bad = 0
    for name, (make, fwd) in models.items():
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            print("FAIL %s: %s is missing" % (name, d))
            bad += 1
            continue
        net = make().eval()
        load_into(net, d, ("pos",) if name == "bst_block" else ())
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
        with torch.no_grad():
            if name == "bst_block":  # ids as floats in hgc (MXNet's Embedding), as longs in torch
                other = torch.from_numpy(np.load(os.path.join(d, "other.npy")))
                ref = net(x.long(), other.long()).numpy()
            else:
                ref = fwd(net, x).numpy()
        for mode in ("imperative", "hybrid"):
            got = np.load(os.path.join(d, mode + ".npy"))
            if got.shape != ref.shape:
                print("FAIL %s %s: shape %s, torch %s" % (name, mode, got.shape, ref.shape))
                bad += 1
                continue
            err = np.abs(got.astype(np.float64) - ref)
            ok = bool(np.all(err <= ATOL + RTOL * np.abs(ref)))
            print("%s %-18s %-10s max |hgc - torch| = %.3g (max |torch| %.3g)"
                  % ("ok  " if ok else "FAIL", name, mode, err.max(), np.abs(ref).max()))
            bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
