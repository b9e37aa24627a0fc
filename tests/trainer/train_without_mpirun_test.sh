#!/usr/bin/env bash
# Data parallelism on the CPU without mpirun (the TCP backend), as a plain script or srun
# without PMI launches it:
#  - two background processes with RANK/WORLD_SIZE/LOCAL_RANK, dist.init env-tcp and
#    env-file, end with the same parameters and optimizer state bit for bit, and (when the
#    build has MPI) bit for bit the same as the training under mpirun: with 2 ranks the sum
#    is a + b == b + a exactly, whatever order a backend adds in;
#  - kill -9 of rank 1 mid-run: rank 0 exits non-zero within dist.timeout_s with a message
#    naming rank 1, and the checkpoint written before the kill is still readable.
# Usage: train_without_mpirun_test.sh <sombrero> <compare_checkpoints> <source dir> [<mpiexec>]
set -euo pipefail
sombrero=$1
compare=$2
config=$3/configs/fashion_mnist.yaml
mpiexec=${4:-}
work=$(mktemp -d)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill -9 "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export OMP_NUM_THREADS=1
settings=(--set model.name=lenet --set data.dataset=synthetic --set data.image_size=28
          --set data.synthetic_samples=256 --set data.batch_size=64 --set data.workers=1
          --set train.epochs=2 --set data.augment.hflip=false --set optim.weight_decay=1e-4
          --set u1.weight=0.5)
# A port below Linux's ephemeral range (32768-60999), so no outgoing connection holds it.
port() { echo $((20000 + RANDOM % 12000)); }

# launch NAME INIT RENDEZVOUS [settings...]: ranks 0 and 1 in the background; their process
# ids in rank0 and rank1.
launch() {
  local name=$1 init=$2 rendezvous=$3
  shift 3
  for rank in 0 1; do
    RANK=$rank WORLD_SIZE=2 LOCAL_RANK=$rank "$sombrero" train "$config" "${settings[@]}" \
      --set dist.init="$init" --set dist.rendezvous="$rendezvous" "$@" --out "$work/$name" \
      > "$work/$name.$rank.log" 2>&1 &
    started+=($!)
    eval "rank$rank=$!"
  done
}
# finish NAME: both ranks must exit 0, and rank 0 must have checked the replicas.
finish() {
  local name=$1 status=0
  wait "$rank0" || status=$?
  wait "$rank1" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAIL: $name exited $status"
    cat "$work/$name.0.log" "$work/$name.1.log"
    exit 1
  fi
  grep -q "replicas: parameters bitwise identical on all 2 ranks" "$work/$name.0.log"
}

launch tcp env-tcp "127.0.0.1:$(port)" --set dist.timeout_s=60
finish tcp
launch file env-file "$work/rendezvous" --set dist.timeout_s=60
finish file
"$compare" "$work/tcp/last.safetensors" "$work/file/last.safetensors" 0 --with-optimizer
if [ -n "$mpiexec" ]; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    "$mpiexec" -np 2 --oversubscribe "$sombrero" train "$config" "${settings[@]}" \
    --out "$work/mpi" > "$work/mpi.log" 2>&1 || { cat "$work/mpi.log"; exit 1; }
  "$compare" "$work/mpi/last.safetensors" "$work/tcp/last.safetensors" 0 --with-optimizer
fi

# A rank killed mid-run: wait for the first checkpoint, then kill -9 rank 1.
timeout_s=10
launch kill env-tcp "127.0.0.1:$(port)" --set dist.timeout_s=$timeout_s --set train.epochs=1000
for _ in $(seq 300); do
  [ -e "$work/kill/last.safetensors" ] && break
  sleep 0.1
done
[ -e "$work/kill/last.safetensors" ] || { echo "FAIL: no checkpoint after 30 s"; exit 1; }
sleep 0.3
kill -9 "$rank1"
wait "$rank1" 2> /dev/null || true
killed_at=$SECONDS
while kill -0 "$rank0" 2> /dev/null && [ $((SECONDS - killed_at)) -le $((timeout_s + 5)) ]; do
  sleep 0.1
done
status=0
if kill -0 "$rank0" 2> /dev/null; then
  echo "FAIL: rank 0 still runs $((SECONDS - killed_at)) s after rank 1 was killed"
  exit 1
fi
wait "$rank0" || status=$?
[ "$status" -ne 0 ] || { echo "FAIL: rank 0 exited 0 after rank 1 was killed"; exit 1; }
grep -q "rank 1 closed its connection (did it crash?)" "$work/kill.0.log" ||
  { echo "FAIL: rank 0's message does not name rank 1:"; tail -3 "$work/kill.0.log"; exit 1; }
"$compare" "$work/kill/last.safetensors" "$work/kill/last.safetensors" 0 --with-optimizer
echo "rank 0 after the kill: $(tail -1 "$work/kill.0.log")"
echo ok
