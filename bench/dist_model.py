#!/usr/bin/env python3
"""Alpha-beta model of ring allreduce for the Fashion MLP's and LeNet's gradients
(docs/DISTRIBUTED.md prints its output). Usage: dist_model.py MLP_STEP_MS LENET_STEP_MS

A ring allreduce of S bytes over p nodes sends 2(p-1) messages of S/p bytes per node:
  T(p) = 2 (p-1) alpha + 2 (p-1)/p * S / B
(alpha: per-message latency, B: link bandwidth; the reduction's arithmetic is ignored: it is
hidden behind the transfers at these sizes). A step of per-node compute time t then takes
  t + T(p) without overlap, max(t, T(p)) with perfect overlap,
and weak scaling (fixed batch per node) gives the speed-up p * t / step."""
import sys

ALPHA = 25e-6  # TCP over Ethernet through the kernel and gloo/MPI: ~10-50 us per message
MODELS = {  # gradient float32 parameters
    "Fashion MLP (784-256-128-10)": 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
    "LeNet (20c5-50c5-500-10)": 20 * 25 + 20 + 50 * 20 * 25 + 50 + 800 * 500 + 500 + 500 * 10 + 10,
}
LINKS = {"10 Gb/s": 10e9 / 8, "25 Gb/s": 25e9 / 8, "100 Gb/s": 100e9 / 8}
NODES = [2, 4, 8, 16, 32, 64]


def ring(p, size, bw):
    return 2 * (p - 1) * ALPHA + 2 * (p - 1) / p * size / bw


def main():
    step_ms = {name: float(v) for name, v in zip(MODELS, sys.argv[1:3])}
    for name, n in MODELS.items():
        size = 4 * n
        t = step_ms[name] / 1e3
        print(f"\n{name}: {n:,} parameters, {size / 1e6:.2f} MB of gradients per step; "
              f"compute {step_ms[name]:.2f} ms per step (batch 64 per node)\n")
        print("| link | nodes | allreduce (ms) | speed-up, no overlap | speed-up, full overlap | efficiency (no overlap) |")
        print("|---|---|---|---|---|---|")
        for lname, bw in LINKS.items():
            for p in NODES:
                c = ring(p, size, bw)
                plain, over = p * t / (t + c), p * t / max(t, c)
                print(f"| {lname} | {p} | {c * 1e3:.2f} | {plain:.1f}x | {over:.1f}x | {100 * plain / p:.0f}% |")


if __name__ == "__main__":
    main()
