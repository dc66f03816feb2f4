#!/usr/bin/env python3
"""PyTorch oracle of tests/frontend/test_resize_ops.cc: writes <case>_x.npy (and _w.npy) and
<case>_y.npy into OUT for the nn_resize ops, computed by torch.nn.functional
(interpolate nearest/bilinear with align_corners as MXNet 1.9's BilinearResize2D,
adaptive_avg_pool2d, conv_transpose2d for bilinear UpSampling)."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1]
rng = np.random.RandomState(0)


def save(name, y, **inputs):
    for k, v in inputs.items():
        np.save(f"{out}/{name}_{k}.npy", v.astype(np.float32))
    np.save(f"{out}/{name}_y.npy", y.detach().numpy().astype(np.float32))


def rand(*s):
    return rng.uniform(-1, 1, s).astype(np.float32)


x = rand(2, 3, 5, 4)
save("nearest2", F.interpolate(torch.from_numpy(x), scale_factor=2, mode="nearest"), x=x)
x = rand(1, 2, 3, 3)
save("nearest3", F.interpolate(torch.from_numpy(x), scale_factor=3, mode="nearest"), x=x)
for align in (True, False):
    tag = "align" if align else "half"
    x = rand(2, 3, 5, 4)
    save(f"resize_up_{tag}", F.interpolate(torch.from_numpy(x), size=(9, 7), mode="bilinear", align_corners=align), x=x)
    x = rand(1, 2, 11, 8)
    save(f"resize_down_{tag}", F.interpolate(torch.from_numpy(x), size=(4, 3), mode="bilinear", align_corners=align), x=x)
x = rand(2, 3, 9, 7)
save("adaptive_3x2", F.adaptive_avg_pool2d(torch.from_numpy(x), (3, 2)), x=x)
x = rand(1, 2, 3, 5)
save("adaptive_4x7", F.adaptive_avg_pool2d(torch.from_numpy(x), (4, 7)), x=x)
x = rand(2, 4, 6, 6)
save("adaptive_1", F.adaptive_avg_pool2d(torch.from_numpy(x), 1), x=x)
for s in (2, 3, 4):
    k = 2 * s - s % 2
    p = int(np.ceil((s - 1) / 2.0))
    x, w = rand(2, 3, 4, 5), rand(3, 1, k, k)
    y = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=s, padding=p, groups=3)
    save(f"bilinear_up{s}", y, x=x, w=w)
