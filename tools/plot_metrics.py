#!/usr/bin/env python3
"""Draws a sombrero run's loss and accuracy curves from metrics.jsonl to a PNG.

    tools/plot_metrics.py runs/fashion_mnist/metrics.jsonl [more runs ...] -o curves.png

Each run is one line per curve, labelled by its folder name, so one-hot and one-hot + U(1)
runs can be compared in one picture. Needs matplotlib (pip install matplotlib).
"""
import argparse
import json
import os
import sys


def load(path):
    steps, epochs = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                sys.exit(f"{path}:{number}: not JSON: {error}")
            (epochs if record.get("kind") == "epoch" else steps).append(record)
    return steps, epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", nargs="+", help="metrics.jsonl files of one or more runs")
    parser.add_argument("-o", "--output", default="curves.png", help="PNG to write")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics.py needs matplotlib: pip install matplotlib")

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for path in args.metrics:
        label = os.path.basename(os.path.dirname(os.path.abspath(path))) or path
        steps, epochs = load(path)
        if steps:
            ax_loss.plot([r["step"] for r in steps], [r["loss"] for r in steps],
                         label=f"{label} loss", linewidth=1)
            if any("u1" in r for r in steps):
                ax_loss.plot([r["step"] for r in steps], [r.get("u1", 0) for r in steps],
                             label=f"{label} u1", linewidth=1, linestyle=":")
        evaluated = [r for r in epochs if "val_top1" in r]
        if evaluated:
            x = [r["epoch"] for r in evaluated]
            ax_acc.plot(x, [100 * r["val_top1"] for r in evaluated], marker="o",
                        label=f"{label} val top-1")
            ax_acc.plot(x, [100 * r["val_angle_top1"] for r in evaluated], marker="x",
                        linestyle="--", label=f"{label} val angle top-1")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_yscale("log")
    ax_loss.legend(fontsize=8)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend(fontsize=8)
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
