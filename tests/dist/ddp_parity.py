#!/usr/bin/env python3
"""The PyTorch side of tests/dist/trainer_parity_test.cc: the Fashion MLP under
DistributedDataParallel (gloo) on 2 processes, from hgc's initial weights (.npy), the same
samples dealt round-robin to the ranks, SGD with momentum, 10 steps; rank 0 writes the final
weights as .npy. Usage: ddp_parity.py DIR (DIR holds x.npy, y.npy, w*.npy, b*.npy)."""
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

STEPS, BATCH, WORLD = 10, 8, 2


def run(rank, d):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + os.path.join(d, "torch_store"), rank=rank,
                            world_size=WORLD)
    layers = [torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(),
              torch.nn.Linear(128, 10)]
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for k, lin in enumerate([layers[0], layers[2], layers[4]]):
            lin.weight.copy_(torch.from_numpy(np.load(os.path.join(d, f"w{k}.npy"))))
            lin.bias.copy_(torch.from_numpy(np.load(os.path.join(d, f"b{k}.npy"))))
    ddp = torch.nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy"))).long()
    mine = torch.arange(rank, x.shape[0], WORLD)  # round-robin shard, as hgc's DataLoader::shard
    ce = torch.nn.CrossEntropyLoss()
    for s in range(STEPS):
        idx = mine[s * BATCH:(s + 1) * BATCH]
        opt.zero_grad()
        ce(ddp(x[idx]), y[idx]).backward()
        opt.step()
    if rank == 0:
        for k, lin in enumerate([layers[0], layers[2], layers[4]]):
            np.save(os.path.join(d, f"torch_w{k}.npy"), lin.weight.detach().numpy())
            np.save(os.path.join(d, f"torch_b{k}.npy"), lin.bias.detach().numpy())
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(run, args=(sys.argv[1],), nprocs=WORLD, join=True)
    print("ddp parity: torch done")
