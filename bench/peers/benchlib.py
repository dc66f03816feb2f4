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
        machine = machine_info()
        machine.update({"torch": torch.__version__, "torch_threads": threads,
                        "torch_config": torch.__config__.show(), "torch_parallel": torch.__config__.parallel_info(),
                        "openblas": openblas_config()})
        json.dump({"side": self.side, "machine": machine, "quick": quick, "wall_s": time.time() - self.t0,
                   "skipped": self.skipped, "rows": self.rows}, sys.stdout, indent=None)
        sys.stdout.write("\n")


# Every variable that steers a thread pool or a BLAS on either side: recorded with each result.
ENV_PREFIXES = ("ATEN_", "OPENBLAS_", "OMP_", "GOMP_", "KMP_", "MKL_", "DNNL_", "ONEDNN_", "HGC_")
# The instruction-set flags that decide which GEMM kernels a library may pick.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")


def machine_info():
    cpu, flags = "", []
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name") and not cpu:
                    cpu = ln.split(":", 1)[1].strip()
                if ln.startswith("flags") and not flags:
                    have = set(ln.split(":", 1)[1].split())
                    flags = [x for x in ISA_FLAGS if x in have]
    except OSError:
        pass
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIXES)}
    return {"cpu": cpu, "isa": " ".join(flags), "nproc": os.cpu_count(), "env": env}


def openblas_config():
    """OpenBLAS's build string and the core it picked (what torch's GEMMs run on here)."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "%s; core %s; %d threads" % (lib.openblas_get_config().decode(), lib.openblas_get_corename().decode(),
                                           lib.openblas_get_num_threads())
    except (OSError, AttributeError):
        return "not loaded"


def peak_rss():
    """The peak resident set of this process image (bytes): VmHWM of /proc/self/status.
    (ru_maxrss keeps the parent's peak across fork and exec, so a child spawned by a big
    parent would report the parent's figure.)"""
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) * 1024
    return 0


def rss_now():
    """The process's resident set now (bytes), from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


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
