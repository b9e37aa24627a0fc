#!/usr/bin/env python3
"""Pillow's decode + RandomResizedCrop(224) + horizontal flip on a folder of JPEGs, one
process: the reference figure beside sombrero's loader (datasets/loader_bench.h) on the same
files. It mirrors torchvision's transforms on PIL images (RandomResizedCrop.get_params, then
Image.resize with a box, BILINEAR, which is what torchvision's resized_crop does for PIL),
without importing torch.

    tools/bench_loader_pillow.py DIR [--images N] [--mode train|eval]
"""
import argparse
import math
import pathlib
import random
import time

from PIL import Image


def rrc_params(width, height, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * random.uniform(*scale)
        aspect = math.exp(random.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return random.randint(0, width - w), random.randint(0, height - h), w, h
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def train_sample(path, size=224):
    with Image.open(path) as image:
        image = image.convert("RGB")
        left, top, w, h = rrc_params(*image.size)
        out = image.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))
        if random.random() < 0.5:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        return out.tobytes()


def eval_sample(path, resize=256, size=224):
    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        if width <= height:
            new = (resize, int(resize * height / width))
        else:
            new = (int(resize * width / height), resize)
        image = image.resize(new, Image.BILINEAR)
        left = int(round((new[0] - size) / 2.0))
        top = int(round((new[1] - size) / 2.0))
        return image.crop((left, top, left + size, top + size)).tobytes()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--mode", choices=["train", "eval"], default="train")
    args = parser.parse_args()
    files = sorted(p for p in pathlib.Path(args.folder).rglob("*") if p.suffix.lower() in
                   (".jpg", ".jpeg", ".png"))
    if not files:
        raise SystemExit(f"no images under {args.folder}")
    sample = train_sample if args.mode == "train" else eval_sample
    random.seed(0)
    for path in files[:16]:  # warm-up
        sample(path)
    start = time.perf_counter()
    for i in range(args.images):
        sample(files[i % len(files)])
    seconds = time.perf_counter() - start
    print(f"Pillow {Image.__version__} {args.mode}: {args.images / seconds:.1f} img/s "
          f"(1 process, {args.images} images, {seconds:.2f} s)")


if __name__ == "__main__":
    main()
