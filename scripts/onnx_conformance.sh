#!/usr/bin/env bash
# ONNX conformance: runs every model of ONNX's backend test data (Debian libonnx-testdata)
# through `hgc onnx-test`, one process per test (a crash or hang is caught and counted as a
# failure), and writes a Markdown report with pass / fail / unsupported per test.
#
#   scripts/onnx_conformance.sh                      # all 1,072 tests -> docs/onnx-conformance.md
#   scripts/onnx_conformance.sh --sample 40 --report /tmp/r.md --check docs/onnx-conformance.md
#
# options:
#   --hgc PATH       the hgc binary (default build/tools/hgc)
#   --report FILE    where the Markdown report goes (default docs/onnx-conformance.md)
#   --jobs N         tests run at once (default: the number of cores)
#   --sample N       run every k-th test so that about N run (the sanitizer pass)
#   --check FILE     fail when a test that FILE's report lists as pass does not pass now
#   --timeout S      seconds per test before it counts as a hang (default 300)
# Exit status: 1 when the test data is missing, a test crashed or hung, an unsupported test
# names a reason outside {dtype, sequence-or-optional, training}, or --check finds a regression.
set -euo pipefail
cd "$(dirname "$0")/.."
HGC=build/tools/hgc REPORT=docs/onnx-conformance.md JOBS=$(nproc) SAMPLE=0 CHECK="" TIMEOUT=300
DATA=${HGC_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
while (($#)); do
  case "$1" in
    --hgc) HGC=$2; shift 2 ;;
    --report) REPORT=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --sample) SAMPLE=$2; shift 2 ;;
    --check) CHECK=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    *) echo "onnx_conformance: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$HGC" ] || { echo "onnx_conformance: no hgc binary at $HGC" >&2; exit 1; }
SUITES=(node pytorch-converted pytorch-operator simple)
tests=()
for s in "${SUITES[@]}"; do
  # Missing test data is a failure, not a skip: scripts/setup.sh installs libonnx-testdata.
  [ -d "$DATA/$s" ] || { echo "onnx_conformance: missing test data $DATA/$s (install libonnx-testdata)" >&2; exit 1; }
  for d in "$DATA/$s"/*/; do tests+=("$s/$(basename "$d")"); done
done
total=${#tests[@]}
if ((SAMPLE > 0 && SAMPLE < total)); then
  step=$(( (total + SAMPLE - 1) / SAMPLE )); picked=()
  for ((i = 0; i < total; i += step)); do picked+=("${tests[$i]}"); done
  tests=("${picked[@]}")
fi
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
export HGC DATA OUT TIMEOUT
# Kernels go to a cache folder of their own (reused by later runs of this script).
export HGC_CACHE_DIR=${HGC_CACHE_DIR:-$(dirname "$HGC")/../onnx-kernel-cache}
one() {
  local t=$1 line rc
  line=$(timeout -k 10 "$TIMEOUT" "$HGC" onnx-test "$DATA/$t" 2>&1 | tail -n 1; exit "${PIPESTATUS[0]}") && rc=0 || rc=$?
  printf '%s\t%s\t%s\n' "$t" "$rc" "${line//$'\t'/ }" > "$OUT/$(echo "$t" | tr / _).tsv"
}
export -f one
start=$(date +%s)
printf '%s\n' "${tests[@]}" | xargs -P "$JOBS" -I{} bash -c 'one "$@"' _ {}
secs=$(( $(date +%s) - start ))
cat "$OUT"/*.tsv > "$OUT/all"
exec python3 - "$OUT/all" "$REPORT" "$secs" "$JOBS" "$CHECK" "${#tests[@]}" "$total" <<'PY'
import re, sys, collections
rows_path, report, secs, jobs, check, ran, total = sys.argv[1:8]
CATS = ("dtype", "sequence-or-optional", "training")
SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")
rows, bad = [], []
for line in open(rows_path, encoding="utf-8", errors="replace"):
    t, rc, msg = (line.rstrip("\n").split("\t", 2) + ["", ""])[:3]
    rc = int(rc)
    suite, name = t.split("/", 1)
    m = re.match(r"UNSUPPORTED\(([^)]*)\): (.*)", msg)
    if rc == 0 and msg == "PASS":
        status, why = "pass", ""
    elif rc == 4 and m:
        status, why = "unsupported:" + m.group(1), m.group(2)
        if m.group(1) not in CATS:
            bad.append(f"{t}: unsupported reason '{m.group(1)}' is not one of {CATS}")
    elif rc in (124, 137):
        status, why = "fail", f"hang (no result in the time limit, exit {rc})"
        bad.append(f"{t}: hang")
    elif rc > 128 or rc < 0:
        status, why = "fail", f"crash (signal {rc - 128 if rc > 128 else -rc}): {msg}"
        bad.append(f"{t}: crash")
    else:
        status, why = "fail", msg[6:] if msg.startswith("FAIL: ") else f"exit {rc}: {msg}"
    why = re.sub(r"/usr/share/libonnx-testdata/data/[^ :]*/", "", why)
    rows.append((suite, name, status, why))
rows.sort(key=lambda r: (SUITES.index(r[0]), r[1]))
count = collections.Counter((r[0], r[2]) for r in rows)
out = ["# ONNX conformance", "",
       "ONNX's backend test data (Debian `libonnx-testdata` 1.12) run through `hgc onnx-test`, one",
       "process per test, outputs compared at rtol 1e-3 / atol 1e-7. Regenerate with",
       "`scripts/onnx_conformance.sh` (this file); `unsupported` names one of the fixed reason",
       "categories (dtype, sequence-or-optional, training), every other non-pass is a failure.", "",
       f"Ran {ran} of {total} tests in {secs} s with {jobs} parallel jobs.", "",
       "| suite | tests | pass | fail | unsupported: dtype | sequence-or-optional | training |",
       "|---|---|---|---|---|---|---|"]
for s in SUITES:
    n = sum(v for (su, _), v in count.items() if su == s)
    out.append(f"| {s} | {n} | {count[(s, 'pass')]} | {count[(s, 'fail')]} | " +
               " | ".join(str(count[(s, 'unsupported:' + c)]) for c in CATS) + " |")
out += ["", "## Per test", ""]
for s in SUITES:
    out += [f"### {s}", "", "| test | result | detail |", "|---|---|---|"]
    for r in rows:
        if r[0] == s:
            out.append(f"| {r[1]} | {r[2]} | {r[3][:300].replace('|', '/')} |")
    out.append("")
open(report, "w").write("\n".join(out))
print("\n".join(out[7:16]))
if check:
    before = {}
    for line in open(check, encoding="utf-8"):
        m = re.match(r"\| (test_\S+) \| (\S+) \|", line)
        if m: before[m.group(1)] = m.group(2)
    for r in rows:
        if before.get(r[1]) == "pass" and r[2] != "pass":
            bad.append(f"{r[0]}/{r[1]}: passed in {check}, now {r[2]}: {r[3]}")
for b in bad: print("onnx_conformance: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
