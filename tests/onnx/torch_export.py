"""Exports a PyTorch model to ONNX with seeded random weights and writes its input and
PyTorch's output as .npy (the oracle for tests/onnx/test_onnx_torch.cc).

usage: torch_export.py resnet18|mobilenet_v2|transformer OUT_DIR
"""
import sys

import numpy as np
import torch

name, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
if name == "transformer":
    model = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
    x = torch.randn(2, 5, 32)
else:
    import torchvision
    model = getattr(torchvision.models, name)(weights=None)
    # torchvision zero-initializes some BatchNorm gammas; random statistics make every layer count.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(1, 3, 64, 64)
model.eval()
with torch.no_grad():
    y = model(x)
torch.onnx.export(model, (x,), f"{out}/model.onnx", input_names=["input"], output_names=["output"], opset_version=14)
np.save(f"{out}/input.npy", x.numpy())
np.save(f"{out}/expected.npy", y.numpy())
