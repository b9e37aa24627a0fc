#!/usr/bin/env bash
# `sombrero bench allreduce --cpu` as users launch it: under mpirun (MPI backend) and as two
# plain processes with RANK/WORLD_SIZE (TCP backend). Each must exit 0 and print a checked
# row ("ok": every element summed right on every rank) for every size up to --max; a single
# process says there is nothing to all-reduce and exits 0.
# Usage: bench_allreduce_test.sh <sombrero> [<mpiexec>]
set -euo pipefail
sombrero=$1
mpiexec=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1

# expect_rows LOG BACKEND: the table of BACKEND with every size from 1 KB to 1 MB checked.
expect_rows() {
  grep -q "all_reduce_sum, f32, 2 ranks, backend $2, cpu buffers" "$1" ||
    { echo "FAIL: no $2 table"; cat "$1"; exit 1; }
  for size in "1 KB" "2 KB" "64 KB" "512 KB" "1 MB"; do
    grep -Eq "^ +$size +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +ok" "$1" ||
      { echo "FAIL: no checked $size row for $2"; cat "$1"; exit 1; }
  done
  if grep -q "2 MB" "$1"; then echo "FAIL: rows past --max"; exit 1; fi
}

if [ -n "$mpiexec" ]; then
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$mpiexec" -np 2 --oversubscribe \
    "$sombrero" bench allreduce --cpu --max 1MB --iters 2 > "$work/mpi.log" 2>&1 ||
    { cat "$work/mpi.log"; exit 1; }
  expect_rows "$work/mpi.log" mpi
fi

# A port below Linux's ephemeral range (32768-60999), so no outgoing connection holds it.
address=127.0.0.1:$((20000 + RANDOM % 12000))
pids=()
for rank in 0 1; do
  RANK=$rank WORLD_SIZE=2 "$sombrero" bench allreduce --cpu --max 1MB --iters 2 \
    --init env-tcp --rendezvous "$address" --timeout 30 > "$work/tcp.$rank.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || { cat "$work"/tcp.*.log; exit 1; }; done
expect_rows "$work/tcp.0.log" tcp
[ ! -s "$work/tcp.1.log" ] || { echo "FAIL: rank 1 printed"; cat "$work/tcp.1.log"; exit 1; }

"$sombrero" bench allreduce --cpu > "$work/single.log" 2>&1 || { cat "$work/single.log"; exit 1; }
grep -q "a single process, nothing to all-reduce" "$work/single.log" ||
  { echo "FAIL: single process"; cat "$work/single.log"; exit 1; }
echo ok
