#!/usr/bin/env bash
# Data parallelism on the CPU with the MPI backend (as CI runs it):
#  - under `mpirun -np 2` both ranks end with bitwise-identical parameters (the trainer
#    checks and prints it);
#  - 2 ranks x batch B give the same parameters as 1 rank x batch 2B (LeNet, no BatchNorm),
#    within f32 tolerance (only the summation order of the gradient differs);
#  - with BatchNorm and model.sync_bn, 2 ranks x B again equal 1 rank x 2B (parameters and
#    running statistics), on the CPU backend and on the CUDA code path run through simt,
#    while per-rank BatchNorm (sync_bn off) does not.
# Usage: train_distributed_test.sh <sombrero> <compare_checkpoints> <source dir> <mpiexec>
set -euo pipefail
sombrero=$1
compare=$2
config=$3/configs/fashion_mnist.yaml
mpiexec=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
settings=(--set model.name=lenet --set data.dataset=synthetic --set data.image_size=28
          --set data.synthetic_samples=256 --set data.batch_size=64 --set data.workers=1
          --set train.epochs=2 --set data.augment.hflip=false --set optim.weight_decay=1e-4
          --set u1.weight=0.5)

OMP_NUM_THREADS=1 "$mpiexec" -np 2 --oversubscribe "$sombrero" train "$config" "${settings[@]}" \
  --out "$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; exit 1; }
grep -q "replicas: parameters bitwise identical on all 2 ranks" "$work/two.log"
grep -q "batch 64 (32 per rank x 2, mpi)" "$work/two.log"
OMP_NUM_THREADS=1 "$sombrero" train "$config" "${settings[@]}" --out "$work/one" > "$work/one.log"
# f32 sums of the same gradients in another order: relative differences ~1e-6 per step,
# compounded over 8 steps; 1e-4 still catches a wrong scale (e.g. a missing 1/world).
"$compare" "$work/one/last.safetensors" "$work/two/last.safetensors" 1e-4

# SyncBatchNorm: fashion_cnn (four BatchNorm+ReLU layers), statistics over both ranks.
bn=(--set model.name=fashion_cnn --set model.width=4 --set train.epochs=1)
OMP_NUM_THREADS=1 "$mpiexec" -np 2 --oversubscribe "$sombrero" train "$config" "${settings[@]}" \
  "${bn[@]}" --set model.sync_bn=true --out "$work/two-sync" > "$work/two-sync.log" 2>&1 ||
  { cat "$work/two-sync.log"; exit 1; }
grep -q "BatchNorm statistics synchronised (model.sync_bn)" "$work/two-sync.log"
OMP_NUM_THREADS=1 "$mpiexec" -np 2 --oversubscribe "$sombrero" train "$config" "${settings[@]}" \
  "${bn[@]}" --out "$work/two-local" > "$work/two-local.log" 2>&1 ||
  { cat "$work/two-local.log"; exit 1; }
OMP_NUM_THREADS=1 "$sombrero" train "$config" "${settings[@]}" "${bn[@]}" --out "$work/one-bn" \
  > "$work/one-bn.log"
# The statistics are combined from per-rank moments in double, the gradient sums in another
# order: differences of f32 rounding, compounded over 4 steps.
"$compare" "$work/one-bn/last.safetensors" "$work/two-sync/last.safetensors" 1e-4
# The same two SyncBN ranks on the CUDA code path, executed on the CPU (train.device simt).
OMP_NUM_THREADS=1 "$mpiexec" -np 2 --oversubscribe "$sombrero" train "$config" "${settings[@]}" \
  "${bn[@]}" --set model.sync_bn=true --set train.device=simt --out "$work/two-sync-simt" \
  > "$work/two-sync-simt.log" 2>&1 || { cat "$work/two-sync-simt.log"; exit 1; }
"$compare" "$work/one-bn/last.safetensors" "$work/two-sync-simt/last.safetensors" 1e-4
if "$compare" "$work/one-bn/last.safetensors" "$work/two-local/last.safetensors" 1e-4 \
  > /dev/null 2>&1; then
  echo "per-rank BatchNorm matched the single-process run: the SyncBN check proves nothing" >&2
  exit 1
fi
echo ok
