#!/usr/bin/env bash
# An interrupted-and-resumed run ends bitwise equal to an uninterrupted one (CPU backend):
# the final checkpoints (model, optimizer, data position, metadata) must be identical files.
# The interrupted run stops mid-epoch, resumes, stops again across the epoch boundary and
# resumes to the end. Usage: train_resume_test.sh <sombrero binary> <source dir>
set -euo pipefail
sombrero=$1
config=$2/configs/fashion_mnist.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
settings=(--set data.dataset=synthetic --set data.image_size=28 --set data.synthetic_samples=192
          --set data.batch_size=32 --set data.workers=2 --set model.width=4 --set train.epochs=2
          --set train.log_every=1 --set checkpoint.keep_last=0)

"$sombrero" train "$config" "${settings[@]}" --out "$work/straight" > "$work/straight.log"
"$sombrero" train "$config" "${settings[@]}" --out "$work/interrupted" --stop-after 4 > "$work/a.log"
"$sombrero" train "$config" "${settings[@]}" --resume "$work/interrupted/step-000000004.safetensors" \
  --stop-after 5 > "$work/b.log"
"$sombrero" train "$config" "${settings[@]}" --resume "$work/interrupted/step-000000009.safetensors" \
  > "$work/c.log"

grep -q "stopped at step 4 (epoch 1, batch 4)" "$work/a.log"
grep -q "stopped at step 9 (epoch 2, batch 3)" "$work/b.log"
if cmp "$work/straight/last.safetensors" "$work/interrupted/last.safetensors"; then
  echo "resume: final checkpoints are bitwise identical"
else
  echo "resume: the resumed run's final checkpoint differs from the uninterrupted run's" >&2
  exit 1
fi
# A fresh run refuses a folder holding checkpoints, naming --resume.
if "$sombrero" train "$config" "${settings[@]}" --out "$work/straight" 2> "$work/refused.log"; then
  echo "a fresh run overwrote a folder with checkpoints" >&2
  exit 1
fi
grep -q "already holds .* checkpoint(s).*--resume" "$work/refused.log"
echo ok
