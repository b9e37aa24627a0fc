#!/usr/bin/env bash
# Data parallelism on the CPU with the MPI backend (as CI runs it):
#  - under `mpirun -np 2` both ranks end with bitwise-identical parameters (the trainer
#    checks and prints it);
#  - 2 ranks x batch B give the same parameters as 1 rank x batch 2B (LeNet, no BatchNorm),
#    within f32 tolerance (only the summation order of the gradient differs).
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
echo ok
