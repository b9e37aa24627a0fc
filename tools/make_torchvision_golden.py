#!/usr/bin/env python3
"""Golden files for sombrero's torchvision-compatibility test (tests/layers/weights_test.cpp).

Builds tiny ResNets out of torchvision's own BasicBlock / Bottleneck and ResNet._make_layer
(the same module names and state_dict keys as torchvision.models.resnet18/50, with a base
width of 4 / 2 channels instead of 64 so the files stay small), randomises every BatchNorm's
affine parameters and running statistics, and writes with safetensors.torch.save_file:

  tests/data/torchvision_<name>.safetensors     the state_dict (OIHW conv weights)
  tests/data/torchvision_<name>_io.safetensors  input [2, 3, 48, 48] (NCHW), logits in eval
                                                mode, logits in train mode (batch statistics)
                                                and bn1's running statistics after that
                                                train-mode forward

Run once (needs torch, torchvision, safetensors):  python3 tools/make_torchvision_golden.py
The reverse direction: --check FILE loads a sombrero-written resnet18_w4 state into the
torchvision model (strict) and compares its eval logits with the golden ones.
"""
import argparse
import os

import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


class TinyResNet(ResNet):
    """torchvision's ResNet with a configurable base width (64 in torchvision)."""

    def __init__(self, block, layers, width, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)


MODELS = {
    "resnet18_w4": (BasicBlock, [2, 2, 2, 2], 4),
    "resnet50_w2": (Bottleneck, [3, 4, 6, 3], 2),
}


def build(name):
    block, layers, width = MODELS[name]
    return TinyResNet(block, layers, width, num_classes=10)


def make(name, seed):
    torch.manual_seed(seed)
    model = build(name)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(DATA, f"torchvision_{name}.safetensors"))
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        model.eval()
        logits_eval = model(x)
        model.train()
        logits_train = model(x)
    io = {
        "input": x,
        "logits_eval": logits_eval,
        "logits_train": logits_train,
        "after_train.bn1.running_mean": model.bn1.running_mean.clone(),
        "after_train.bn1.running_var": model.bn1.running_var.clone(),
    }
    save_file(io, os.path.join(DATA, f"torchvision_{name}_io.safetensors"),
              metadata={"generator": "tools/make_torchvision_golden.py",
                        "torch": torch.__version__})
    print(name, sum(p.numel() for p in model.parameters()), "parameters")


def check(path, name="resnet18_w4"):
    model = build(name)
    model.load_state_dict(load_file(path), strict=True)
    io = load_file(os.path.join(DATA, f"torchvision_{name}_io.safetensors"))
    model.eval()
    with torch.no_grad():
        logits = model(io["input"])
    err = (logits - io["logits_eval"]).abs().max().item()
    print(f"{path}: loaded strict into torchvision {name}; max |logits - golden| = {err:.3g}")
    return err < 1e-4


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", help="a sombrero-written resnet18_w4 .safetensors to verify")
    args = parser.parse_args()
    if args.check:
        raise SystemExit(0 if check(args.check) else 1)
    for i, name in enumerate(MODELS):
        make(name, seed=i + 1)
