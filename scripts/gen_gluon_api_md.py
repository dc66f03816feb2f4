#!/usr/bin/env python3
"""Writes docs/gluon_api.md: MXNet 1.9's public Gluon API (the __all__ lists, or the public
top-level names where a module has none, of python/mxnet/gluon/{nn,rnn,data,data/vision}/*,
gluon/loss.py, gluon/contrib/nn, gluon/utils.py, optimizer/, initializer.py,
lr_scheduler.py, metric.py, autograd.py; the public methods of Block, HybridBlock,
Parameter, ParameterDict and Trainer; every mx.nd function the seed book calls), each
marked ✓ (hgc declares it in frontend/include), ~ (partial: the reason is listed below) or
✗. Only the names are read from MXNet; nothing else of it enters the project.

  python3 scripts/gen_gluon_api_md.py <mxnet git dir> [ref=v1.9.1] [seed book text]
"""
import ast, glob, os, re, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
mx = sys.argv[1]
ref = sys.argv[2] if len(sys.argv) > 2 else "v1.9.1"
seed = sys.argv[3] if len(sys.argv) > 3 else None

def show(path):
    return subprocess.run(["git", "--git-dir", mx, "show", f"{ref}:{path}"], capture_output=True, text=True).stdout

def public(path):
    tree = ast.parse(show(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            try:
                return [n for n in ast.literal_eval(node.value) if isinstance(n, str)]
            except ValueError:
                pass
    return [n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and not n.name.startswith("_")]

def methods(path, cls):
    for node in ast.parse(show(path)).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            return [f.name for f in node.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")]
    return []

headers = ""
for h in glob.glob(os.path.join(root, "frontend", "include", "**", "*.h"), recursive=True):
    headers += open(h).read()
ops = ""
for f in glob.glob(os.path.join(root, "ir", "ops", "*.cc")):
    ops += open(f).read()

def snake(n):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", n).lower()

# Partial items: declared, with a limitation worth saying.
PARTIAL = {
    "RandomLighting": "", "BidirectionalCell": "unroll only (as Gluon)",
    "ZoneoutCell": "train mode runs imperatively (masks drawn outside traces)",
    "CTCLoss": "", "Conv3D": "", "SDMLLoss": "",
    "LARS": "no gamma/beta/bias exemption by parameter name (updates are keyed by index)",
    "SparseEmbedding": "dense weight gradient (no row_sparse storage)",
    "row_sparse_data": "dense rows (no row_sparse storage)",
    "list_row_sparse_data": "dense rows (no row_sparse storage)",
    "infer_type": "floating parameters take the first floating input's dtype (no per-op type inference)",
    "optimize_for": "no partitioning backends: \"\" or \"hgc\" (its own pass pipeline) only",
}

def status(name, kind):
    if kind == "class":
        found = (re.search(rf"\b(class|struct)\s+{re.escape(name)}\b", headers) or
                 re.search(rf"\busing\s+{re.escape(name)}\s*=", headers) or
                 re.search(rf"^HGC_[A-Z_]+\(\s*{re.escape(name)}\s*,", headers, re.M))
    else:
        found = re.search(rf"\b{re.escape(name)}\s*\(", headers) or re.search(rf"\b{re.escape(snake(name))}\s*\(", headers)
    if found:
        return ("~", PARTIAL[name]) if PARTIAL.get(name) else ("✓", "")
    if kind == "nd" and re.search(rf'add\("{re.escape(name)}"\)|"{re.escape(name)}"', ops):
        return ("~", "registered op, callable as nd::op(\"%s\", ...)" % name)
    return ("✗", "")

sections = [
    ("gluon.nn", ["python/mxnet/gluon/nn/basic_layers.py", "python/mxnet/gluon/nn/activations.py", "python/mxnet/gluon/nn/conv_layers.py"]),
    ("gluon.rnn", ["python/mxnet/gluon/rnn/rnn_cell.py", "python/mxnet/gluon/rnn/rnn_layer.py"]),
    ("gluon.loss", ["python/mxnet/gluon/loss.py"]),
    ("gluon.data", ["python/mxnet/gluon/data/dataset.py", "python/mxnet/gluon/data/sampler.py", "python/mxnet/gluon/data/dataloader.py"]),
    ("gluon.data.vision", ["python/mxnet/gluon/data/vision/datasets.py", "python/mxnet/gluon/data/vision/transforms.py"]),
    ("gluon.contrib.nn", ["python/mxnet/gluon/contrib/nn/basic_layers.py"]),
    ("gluon.utils", ["python/mxnet/gluon/utils.py"]),
    ("optimizer", ["python/mxnet/optimizer/optimizer.py"]),
    ("initializer", ["python/mxnet/initializer.py"]),
    ("lr_scheduler", ["python/mxnet/lr_scheduler.py"]),
    ("metric", ["python/mxnet/metric.py"]),
    ("autograd", ["python/mxnet/autograd.py"]),
]
rows, counts = [], {"✓": 0, "~": 0, "✗": 0}
def add(section, name, kind):
    s, why = status(name, kind)
    counts[s] += 1
    rows.append(f"| {section} | `{name}` | {s} | {why} |")

for section, files in sections:
    seen = set()
    for f in files:
        for n in public(f):
            if n in seen:
                continue
            seen.add(n)
            add(section, n, "class" if n[:1].isupper() else "func")
for cls, f in [("Block", "python/mxnet/gluon/block.py"), ("HybridBlock", "python/mxnet/gluon/block.py"),
               ("Parameter", "python/mxnet/gluon/parameter.py"), ("ParameterDict", "python/mxnet/gluon/parameter.py"),
               ("Trainer", "python/mxnet/gluon/trainer.py")]:
    for m in methods(f, cls):
        add(f"{cls} methods", m, "func")
if seed and os.path.exists(seed):
    called = sorted(set(re.findall(r"\bnd\.([A-Za-z_][A-Za-z0-9_]*)\s*\(", open(seed, errors="replace").read())))
    for n in called:
        add("mx.nd (called by the seed book)", n, "nd")

total = sum(counts.values())
out = ["# MXNet 1.9 Gluon API coverage", "",
       f"Generated by `scripts/gen_gluon_api_md.py` from MXNet {ref}'s own public lists (names only).",
       "✓: hgc declares it in `frontend/include` (class of that name, or a function/method of that name",
       "or its snake_case spelling); ~: partial, the reason given; ✗: missing. The check is by name, so a",
       "✓ means the API exists with MXNet's name, not that every argument is supported.", "",
       f"**{counts['✓']} ✓, {counts['~']} ~, {counts['✗']} ✗ of {total} ({100 * counts['✓'] / total:.0f}% ✓).**", "",
       "| module | name | status | note |", "|---|---|---|---|"] + rows
open(os.path.join(root, "docs", "gluon_api.md"), "w").write("\n".join(out) + "\n")
print(f"docs/gluon_api.md: {counts['✓']} ✓, {counts['~']} ~, {counts['✗']} ✗ of {total}")
