"""Helpers shared by the PyTorch side of the benchmark suite (torch_workloads.py) and the
parity check (../parity/parity.py): the interpreter that has Debian's torch, thread setup,
the timing protocol of hgc_bench_workloads (warm-up calls, then timed batches, seconds per
call), the result rows in the same JSON shape, and the Fashion-MNIST reader."""
import json
import os
import statistics
import sys
import time

SYSTEM_PY = "/usr/bin/python3"


def ensure_torch():
    """Imports torch, or re-executes this script with /usr/bin/python3 (Debian's torch lives
    in its dist-packages, which a pyenv python3 does not see). Returns False without torch."""
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        pass
    if (os.path.exists(SYSTEM_PY) and not os.environ.get("_HGC_BENCH_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PY)):
        os.environ["_HGC_BENCH_REEXEC"] = "1"
        os.execv(SYSTEM_PY, [SYSTEM_PY] + sys.argv)
    return False


def set_threads(n):
    """torch's intra-op threads AND OpenBLAS's own pool (Debian's torch calls OpenBLAS for
    Linear/matmul, and torch.set_num_threads does not reach it)."""
    import ctypes
    import torch
    if n:
        torch.set_num_threads(n)
        try:
            ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
        except OSError:
            pass
    return torch.get_num_threads()


def time_batches(fn, inner, runs, warmup):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t0) / inner)
    return out


class Rows:
    def __init__(self, side):
        self.side = side
        self.rows = []
        self.skipped = []
        self.t0 = time.time()

    def add(self, workload, name, mode, metric, values, **extra):
        med = statistics.median(values)
        self.rows.append({"workload": workload, "name": name, "mode": mode, "metric": metric,
                          "median": med, "min": min(values), "max": max(values), "n": len(values),
                          "values": values, **extra})
        sys.stderr.write("%-4s %-28s %-11s %-14s median %.6g%s\n"
                         % (workload, name, mode, metric, med, "" if metric == "bytes" else " s"))
        sys.stderr.flush()

    def dump(self, quick, threads):
        import torch
        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
        except OSError:
            pass
        machine = {"cpu": cpu, "nproc": os.cpu_count(), "torch": torch.__version__,
                   "torch_threads": threads, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                   "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
        json.dump({"side": self.side, "machine": machine, "quick": quick, "wall_s": time.time() - self.t0,
                   "skipped": self.skipped, "rows": self.rows}, sys.stdout, indent=None)
        sys.stdout.write("\n")


FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist


def load_fashion_mnist(d=FASHION_DIR):
    """(train_x float32 (60000, 784) / 255, train_y int64, test_x, test_y) as numpy arrays."""
    import gzip
    import numpy as np

    def rd(name, off):
        with gzip.open(os.path.join(d, name), "rb") as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=off)
    xtr = rd("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype("float32") / 255.0
    ytr = rd("train-labels-idx1-ubyte.gz", 8).astype("int64")
    xte = rd("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype("float32") / 255.0
    yte = rd("t10k-labels-idx1-ubyte.gz", 8).astype("int64")
    return xtr, ytr, xte, yte


def xavier_(module):
    """hgc's initialize(init::Xavier()): Gluon's Xavier (uniform, avg, magnitude 3) is torch's
    xavier_uniform_ on every weight; biases zero; LayerNorm gamma 1, beta 0."""
    import torch.nn as nn
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.Embedding)):
            nn.init.xavier_uniform_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
    return module
