"""Markdown table of the bench suite from the JSON that hgc_bench_workloads and
peers/torch_workloads.py print: per workload the median seconds of every hgc mode and every
PyTorch mode (the timed batches of all rounds pooled), the speed-up best peer / hgc
(> 1: hgc is faster) for the hybridized hgc and for hgc's best mode, and issue 16's target;
then the bounds measured in the same run (raw GEMMs through the fastest BLAS, W1's weights
read from L2), hgc's scaling against a one-thread run (--one-thread), memory, and the
recorded machine: CPU and ISA flags, library versions, torch's build configuration, and every
thread/BLAS environment variable of each side.

  python3 bench/report.py RESULT.json ... [--title TEXT] [--one-thread DIR]
"""
import argparse
import glob
import json
import os
import statistics
import sys

# Issue 16's targets (issue 10's for the rows it does not name): a minimum speed-up over the
# best peer, or a time bound (seconds).
TARGETS = {"W1": ("speedup", 5.0), "W1b": ("speedup", 1.5), "W2": ("speedup", 1.5), "W3": ("speedup", 1.5),
           "W4": ("speedup", 3.0), "W4b": ("speedup", 3.0), "W5": ("speedup", 2.0), "W5d": ("speedup", 1.3),
           "W6": ("speedup", 1.3), "startup": ("seconds", 0.020), "compile": ("seconds", 0.300),
           "compile-warm": ("seconds", 0.030)}
# hgc's best time over the raw bound: GEMM-bound steps <= 1.6x the raw GEMMs, W1 <= 2x L2 reads.
BOUNDS = {"W1": 2.0, "W1b": 1.6, "W2": 1.6, "W5d": 1.6}
# hgc's own scaling, all cores over one thread.
SCALING = {"W1b": 1.6, "W3": 1.6, "W5": 1.6, "W5d": 1.6}
ORDER = ["W1", "W1b", "W2", "W3", "W4", "W4b", "W5", "W5d", "W6", "startup", "compile", "compile-warm"]
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
    vals, machines, skipped, metrics, raw = {}, {}, [], {}, {}
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        side = d.get("side", "?")
        machines.setdefault(side, d.get("machine", {}))
        skipped += ["%s: %s" % (side, s) for s in d.get("skipped", [])]
        for r in d.get("rows", []):
            if r.get("raw"):
                raw.setdefault(r["workload"], {}).setdefault(r["mode"], []).extend(r["values"])
                continue
            vals.setdefault((r["workload"], r["name"]), {}).setdefault((side, r["mode"]), []).extend(r["values"])
            metrics[(r["workload"], r["name"])] = r["metric"]
    return vals, machines, sorted(set(skipped)), metrics, raw


def round_spread(paths, limit=1.15):
    """Rows whose per-round medians (one JSON file per side and round) disagree by more than
    `limit`: a pooled median of such a split sample is no step time, so the table says so."""
    per = {}
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        for r in d.get("rows", []):
            if r.get("raw") or not r.get("values") or r.get("metric") == "bytes":
                continue
            key = (r["workload"], r["name"], d.get("side", "?"), r["mode"])
            per.setdefault(key, []).append(statistics.median(r["values"]))
    out = []
    for (w, name, side, md), ms in sorted(per.items()):
        if len(ms) > 1 and min(ms) > 0 and max(ms) / min(ms) > limit:
            out.append("%s %s (%s %s): %s" % (w, name.replace("|", "/"), side, md, " / ".join(fmt(x) for x in ms)))
    return out


def hgc_best_by_workload(vals):
    """Per workload, hgc's best median over its modes and rows (the per-step rows, not 'first')."""
    best = {}
    for (w, name), v in vals.items():
        if "first" in name:
            continue
        for (side, md), xs in v.items():
            if side == "hgc" and md in HGC_MODES and xs:
                m = statistics.median(xs)
                if w not in best or m < best[w][0]:
                    best[w] = (m, md)
    return best


def machine_lines(machines):
    out = ["\n### Machine and environment (recorded by each side)\n"]
    hm, tm = machines.get("hgc", {}), machines.get("torch", {})
    m = hm or tm
    out.append("- CPU: %s, %s cores; ISA flags: %s" % (m.get("cpu", "?"), m.get("nproc", "?"), m.get("isa", "?")))
    if hm:
        out.append("- hgc: %s thread(s); oneDNN %s; OpenBLAS %s" % (hm.get("hgc_threads", "?"), hm.get("onednn", "?"),
                                                               hm.get("openblas", "?")))
        out.append("- hgc environment: `%s`" % json.dumps(hm.get("env", {}), sort_keys=True))
    if tm:
        out.append("- torch %s: %s thread(s); OpenBLAS %s" % (tm.get("torch", "?"), tm.get("torch_threads", "?"),
                                                          tm.get("openblas", "?")))
        out.append("- torch environment: `%s`" % json.dumps(tm.get("env", {}), sort_keys=True))
        cfg = (tm.get("torch_config") or "").strip()
        if cfg:
            out.append("\n<details><summary>torch.__config__.show()</summary>\n\n```\n%s\n%s\n```\n</details>"
                       % (cfg, (tm.get("torch_parallel") or "").strip()))
    for side, mm in (("hgc", hm), ("torch", tm)):
        core = mm.get("env", {}).get("OPENBLAS_CORETYPE")
        if core:
            out.append("- **%s ran with OPENBLAS_CORETYPE=%s**: its OpenBLAS GEMMs are held to that core's "
                       "instruction set (rows using OpenBLAS are affected)." % (side, core))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--title", default="")
    ap.add_argument("--one-thread", default="", help="a folder with the same suite's one-thread results (scaling)")
    a = ap.parse_args()
    vals, machines, skipped, metrics, raw = load(a.files)
    out = []
    if a.title:
        out.append(a.title + "\n")
    hm, tm = machines.get("hgc", {}), machines.get("torch", {})
    out.append("hgc threads %s; torch %s threads %s. Medians of all timed batches (after warm-up) of all rounds.\n"
               % (hm.get("hgc_threads", "?"), tm.get("torch", "absent"), tm.get("torch_threads", "?")))
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
    spread = round_spread(a.files)
    if spread:
        out.append("\n**Rounds that disagree by more than 15%** (per-round medians; the machine was not steady "
                   "while they ran, and the pooled median above mixes them):\n")
        out += ["- " + x for x in spread]
    best = hgc_best_by_workload(vals)
    if raw:
        out.append("\n| bound | hgc best | raw bound (same threads) | hgc / bound | limit | met |\n|---|---|---|---|---|---|")
        for w in [x for x in ORDER if x in raw]:
            libs = {md: statistics.median(v) for md, v in raw[w].items() if v}
            if not libs or w not in best:
                continue
            lib, bound = min(((v, md) for md, v in libs.items()))[::-1]
            r = best[w][0] / bound
            what = "W1's weights read from L2" if lib == "l2-read" else "its GEMMs raw, fastest BLAS (%s; %s)" % (
                lib, ", ".join("%s %s" % (md, fmt(v)) for md, v in sorted(libs.items())))
            out.append("| %s: %s | %s (%s) | %s | %.2fx | ≤ %gx | %s |" % (
                w, what, fmt(best[w][0]), best[w][1], fmt(bound), r, BOUNDS.get(w, 0),
                "yes" if w in BOUNDS and r <= BOUNDS[w] else "**no**"))
    t1 = sorted(glob.glob(os.path.join(a.one_thread, "hgc_*.json"))) if a.one_thread else []
    t1 = [p for p in t1 if os.path.getsize(p) > 0]
    if t1:
        v1, _, _, _, _ = load(t1)
        b1 = hgc_best_by_workload(v1)
        out.append("\n| scaling | hgc best, 1 thread | hgc best, %s threads | speed-up | target | met |\n"
                   "|---|---|---|---|---|---|" % hm.get("hgc_threads", "?"))
        for w in [x for x in ORDER if x in best and x in b1]:
            sp = b1[w][0] / best[w][0]
            goal = SCALING.get(w)
            out.append("| %s | %s | %s | %.2fx | %s | %s |" % (w, fmt(b1[w][0]), fmt(best[w][0]), sp,
                                                             "≥ %gx" % goal if goal else "",
                                                             "" if not goal else ("yes" if sp >= goal else "**no**")))
    if memory:
        out.append("\n| memory | hgc hybrid | torch eager | torch / hgc |\n|---|---|---|---|")
        for k in memory:
            m = {md: statistics.median(v) for md, v in vals[k].items() if v}
            h, t = m.get(("hgc", "hybrid")), m.get(("torch", "eager"))
            mib = lambda b: "—" if b is None else "%.0f MiB" % (b / 2**20)  # noqa: E731
            out.append("| %s | %s | %s | %s |" % (k[1], mib(h), mib(t), "%.2fx" % (t / h) if h and t else "—"))
        out.append("\nPeak resident memory (VmHWM) of a fresh process running the loop, libraries included; "
                   "growth: over the process's own resident set once its libraries are loaded (hgc) / after "
                   "its imports (torch).")
    out += machine_lines(machines)
    if skipped:
        out.append("\nSkipped or failed:\n")
        out += ["- " + s.replace("\n", " ") for s in skipped]
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
