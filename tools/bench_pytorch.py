#!/usr/bin/env python3
"""PyTorch's training throughput on the same work as `sombrero bench train-step`: torchvision
resnet50 / resnet18, synthetic 224x224 images already on the GPU, 1000 classes, SGD with
momentum 0.9 and Nesterov, label-smoothed cross-entropy, bf16 autocast and channels_last
(PyTorch's fast path for convolutions on tensor cores). One step = zero_grad, forward, loss,
backward, optimizer step; timed with CUDA events after warm-up, median of the steps, as
sombrero's benchmark does. Prints images/s and torch.cuda.max_memory_allocated per model,
eager and (unless --no-compile) torch.compile.

    tools/bench_pytorch.py [--model resnet50,resnet18] [--batch 0] [--iters 20] [--warmup 5]
                           [--precision bf16|f32] [--no-compile] [--json FILE]

--batch 0 means 256, the default of `sombrero bench train-step`. tools/gpu_check.sh runs it
right after sombrero's benchmark and prints the ratio.
"""
import argparse
import json
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="resnet50,resnet18")
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precision", choices=["bf16", "f32"], default="bf16")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile runs")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke test")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p.parse_args()


def bench(torch, torchvision, name, batch, args, compiled):
    device = torch.device(args.device)
    model = getattr(torchvision.models, name)(num_classes=1000).to(device)
    model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True,
                                weight_decay=5e-5)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    images = torch.randn(batch, 3, args.image_size, args.image_size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = (torch.arange(batch, device=device) * 7919) % 1000
    step_model = torch.compile(model) if compiled else model
    autocast = args.precision == "bf16"

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = criterion(step_model(images), labels)
        loss.backward()
        optimizer.step()

    on_cuda = device.type == "cuda"
    for _ in range(max(args.warmup, 1)):
        step()
    if on_cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        if on_cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)
    peak = torch.cuda.max_memory_allocated() / 2**20 if on_cuda else None
    return {"bench": "pytorch-train-step", "model": name, "batch": batch,
            "mode": "torch.compile" if compiled else "eager", "precision": args.precision,
            "ms_per_step": ms, "images_per_s": batch / (ms / 1e3), "peak_mib": peak,
            "torch": torch.__version__, "device": torch.cuda.get_device_name() if on_cuda else "cpu"}


def main():
    args = parse_args()
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"bench_pytorch: PyTorch/torchvision not importable ({e}); nothing measured")
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_pytorch: no CUDA device visible to PyTorch; nothing measured")
        return 0
    torch.backends.cudnn.benchmark = True
    rows = []
    print(f"PyTorch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{args.precision}, channels_last, synthetic {args.image_size}x{args.image_size}, "
          f"median of {args.iters} steps after {args.warmup} warm-up")
    print(f"{'model':10} {'batch':>6} {'mode':>14} {'ms/step':>10} {'images/s':>10} {'peak MiB':>9}")
    for name in [m for m in args.model.split(",") if m]:
        batch = args.batch or 256
        for compiled in ([False] if args.no_compile else [False, True]):
            try:
                row = bench(torch, torchvision, name, batch, args, compiled)
            except Exception as e:  # torch.compile may be unavailable (no triton, no compiler)
                print(f"{name:10} {batch:>6} {'torch.compile' if compiled else 'eager':>14} "
                      f"failed: {type(e).__name__}: {str(e).splitlines()[0][:100]}")
                continue
            peak = f"{row['peak_mib']:.0f}" if row["peak_mib"] is not None else "-"
            print(f"{name:10} {batch:>6} {row['mode']:>14} {row['ms_per_step']:>10.2f} "
                  f"{row['images_per_s']:>10.1f} {peak:>9}", flush=True)
            rows.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
