"""Markdown table of issue 10's suite from the JSON that hgc_bench_workloads and
peers/torch_workloads.py print: per workload the median seconds of every hgc mode and every
PyTorch mode (the timed batches of all rounds pooled), the speed-up best peer / hgc
(> 1: hgc is faster) for the hybridized hgc and for hgc's best mode, and the issue's target.

  python3 bench/report.py RESULT.json ... [--title TEXT]
"""
import argparse
import json
import statistics
import sys

# Issue 10's targets: a minimum speed-up over the best peer, or a time bound (seconds).
TARGETS = {"W1": ("speedup", 5.0), "W1b": ("speedup", 1.3), "W2": ("speedup", 1.3), "W3": ("speedup", 2.0),
           "W4": ("speedup", 5.0), "W4b": ("speedup", 3.0), "W5": ("speedup", 1.3),
           "W6": ("seconds", 1.0), "startup": ("seconds", 0.020), "compile": ("seconds", 0.300),
           "compile-warm": ("seconds", 0.030)}
ORDER = ["W1", "W1b", "W2", "W3", "W4", "W4b", "W5", "W6", "startup", "compile", "compile-warm"]
HGC_MODES = ["imperative", "hybrid", "aot"]
PEER_MODES = ["eager", "jit"]


def fmt(s):
    if s is None:
        return "—"
    if s >= 1:
        return "%.3f s" % s
    if s >= 1e-3:
        return "%.3f ms" % (s * 1e3)
    return "%.1f µs" % (s * 1e6)


def load(paths):
    vals, machines, skipped, metrics = {}, {}, [], {}
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        side = d.get("side", "?")
        machines.setdefault(side, d.get("machine", {}))
        skipped += ["%s: %s" % (side, s) for s in d.get("skipped", [])]
        for r in d.get("rows", []):
            vals.setdefault((r["workload"], r["name"]), {}).setdefault((side, r["mode"]), []).extend(r["values"])
            metrics[(r["workload"], r["name"])] = r["metric"]
    return vals, machines, sorted(set(skipped)), metrics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    vals, machines, skipped, metrics = load(a.files)
    out = []
    if a.title:
        out.append(a.title + "\n")
    hm, tm = machines.get("hgc", {}), machines.get("torch", {})
    out.append("Machine: %s, %s cores; hgc threads %s (OPENBLAS_NUM_THREADS=%s); torch %s threads %s. "
               "Medians of all timed batches (after warm-up) of all rounds.\n"
               % (hm.get("cpu") or tm.get("cpu", "?"), hm.get("nproc") or tm.get("nproc", "?"),
                  hm.get("hgc_threads", "?"), hm.get("OPENBLAS_NUM_THREADS"), tm.get("torch", "absent"),
                  tm.get("torch_threads", "?")))
    out.append("| workload | metric | hgc imperative | hgc hybrid | hgc AOT | torch eager | torch jit "
               "| speed-up hybrid | speed-up best hgc | target | met |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted(vals, key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))
    memory = [k for k in keys if metrics.get(k) == "bytes"]
    for w, name in (k for k in keys if k not in memory):
        m = {k: statistics.median(v) for k, v in vals[(w, name)].items() if v}
        hgc = {md: m.get(("hgc", md)) for md in HGC_MODES}
        peer = {md: m.get(("torch", md)) for md in PEER_MODES}
        best_peer = min((v for v in peer.values() if v), default=None)
        hgc_vals = [(v, md) for md, v in hgc.items() if v]
        best_hgc = min(hgc_vals) if hgc_vals else None
        sp_h = best_peer / hgc["hybrid"] if best_peer and hgc["hybrid"] else None
        sp_b = best_peer / best_hgc[0] if best_peer and best_hgc else None
        kind, goal = TARGETS.get(w, (None, None))
        if w == "W6" and "first" in name:
            kind = None  # the first epoch includes tracing and compiling; the target is per epoch
        met, target = "", ""
        if kind == "speedup":
            target = "≥ %gx" % goal
            met = "" if sp_b is None else ("yes (%s)" % best_hgc[1] if sp_b >= goal else "**no**")
        elif kind == "seconds":
            target = "≤ %s" % fmt(goal)
            t = hgc["aot"] if w == "startup" else (best_hgc[0] if best_hgc else None)
            met = "" if t is None else ("yes" if t <= goal else "**no**")
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            w, name.replace("|", "/"), fmt(hgc["imperative"]), fmt(hgc["hybrid"]), fmt(hgc["aot"]),
            fmt(peer["eager"]), fmt(peer["jit"]), "%.2fx" % sp_h if sp_h else "—",
            "%.2fx" % sp_b if sp_b else "—", target, met))
    out.append("\nSpeed-up = best PyTorch time / hgc time (> 1: hgc faster). torch jit = torch.jit.trace "
               "(+ torch.jit.freeze for forwards; training traces net+loss).")
    if memory:
        out.append("\n| memory | hgc hybrid | torch eager | torch / hgc |\n|---|---|---|---|")
        for k in memory:
            m = {md: statistics.median(v) for md, v in vals[k].items() if v}
            h, t = m.get(("hgc", "hybrid")), m.get(("torch", "eager"))
            mib = lambda b: "—" if b is None else "%.0f MiB" % (b / 2**20)  # noqa: E731
            out.append("| %s | %s | %s | %s |" % (k[1], mib(h), mib(t), "%.2fx" % (t / h) if h and t else "—"))
        out.append("\nPeak resident memory of a fresh process running the loop (ru_maxrss), libraries included.")
    if skipped:
        out.append("\nSkipped or failed:\n")
        out += ["- " + s.replace("\n", " ") for s in skipped]
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
