#!/usr/bin/env bash
# One scripted pass on a CUDA machine (see ../shared/GPU.md): unpack the brought Debian
# packages, configure (finding cuDNN/NCCL in the system or in Python's nvidia/* wheels),
# build with all cores, run the `gpu` tests, compute-sanitizer over the kernel tests,
# `sombrero info`, then `sombrero bench` (conv, energy, loss, memory, train-step) and
# tools/bench_pytorch.py on the same models. Logs and a markdown results
# table go to $OUT (or ./gpu-results); the table is printed last. Stops with a clear message at the first failing step.
#
#   tools/gpu_check.sh                 # all phases; expects .gpu-deps/*.deb (fetch-deps.sh)
#   tools/gpu_check.sh build test      # some phases (see "Phases" below)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${OUT:-$root/gpu-results}
mkdir -p "$out"
table="$out/results.md"
build=${BUILD_DIR:-build-gpu}
jobs=$(nproc)
export PATH=/usr/local/cuda/bin:$PATH

echo "| step | result | seconds | log |" >"$table"
echo "|---|---|---|---|" >>"$table"

# step NAME COMMAND...: runs COMMAND with its output in $out/NAME.log, records a table row,
# and stops the pass (printing the table) when it fails.
step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name: $*"
  if "$@" >"$out/$name.log" 2>&1; then
    echo "| $name | ok | $((SECONDS - start)) | $name.log |" >>"$table"
  else
    echo "| $name | FAILED | $((SECONDS - start)) | $name.log |" >>"$table"
    echo "gpu_check: step '$name' failed; last lines of $out/$name.log:" >&2
    tail -n 40 "$out/$name.log" >&2
    cat "$table"
    exit 1
  fi
}

unpack_deps() {
  local deps=${GPU_DEPS:-$root/.gpu-deps}
  if ! ls "$deps"/*.deb >/dev/null 2>&1; then
    echo "no .deb files in $deps: run ../shared/gpu/fetch-deps.sh $deps on a machine with apt" >&2
    return 1
  fi
  mkdir -p /opt/deps
  for f in "$deps"/*.deb; do dpkg -x "$f" /opt/deps; done
}

configure() {
  local extra=()
  local nvidia
  nvidia=$(python3 -c "import nvidia, os; print(nvidia.__path__[0])" 2>/dev/null || true)
  if [ -n "$nvidia" ]; then
    [ -d "$nvidia/cudnn" ] && extra+=("-DCUDNN_ROOT=$nvidia/cudnn")
    [ -d "$nvidia/nccl" ] && extra+=("-DNCCL_ROOT=$nvidia/nccl")
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH=/opt/deps/usr -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DSOMBRERO_MPI=AUTO "${extra[@]}"
}

# Library paths for the unpacked packages and the pip-installed CUDA libraries.
lib_path() {
  local paths=/opt/deps/usr/lib/x86_64-linux-gnu
  local nvidia
  nvidia=$(python3 -c "import nvidia, os; print(nvidia.__path__[0])" 2>/dev/null || true)
  for lib in cudnn nccl cublas; do
    [ -d "$nvidia/$lib/lib" ] && paths="$paths:$nvidia/$lib/lib"
  done
  echo "$paths"
}

sanitize() {
  local tool=$1 failed=0
  for test in "$build"/tests/*simt_gpu* "$build"/tests/*_gpu_test "$build"/tests/*kernel*; do
    [ -x "$test" ] || continue
    echo "-- compute-sanitizer --tool $tool $test"
    compute-sanitizer --tool "$tool" --error-exitcode 1 "$test" --gtest_filter='*Gpu*:*GPU*:*gpu*' ||
      failed=1
  done
  return $failed
}

# Phases, in this order unless named on the command line (a warm machine keeps the build
# between calls, so a session may run `build test` in one call and `bench` in the next):
#   build     unpack the packages, configure, build, `sombrero info`
#   test      the gpu tests, then every test
#   bench     kernels beside cuDNN / copy bandwidth, training steps beside PyTorch; the same
#             as two phases, for a 10-minute command limit: bench-kernels, then bench-train
#   sanitize  compute-sanitizer memcheck and racecheck over the kernel tests (slowest: last;
#             each limited to SANITIZE_TIMEOUT seconds, default 240)
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(build test bench sanitize)
for phase in "${phases[@]}"; do
  case $phase in build | test | bench | bench-kernels | bench-train | sanitize) ;;
  *)
    echo "gpu_check: unknown phase '$phase' (build, test, bench, bench-kernels, bench-train," \
      "sanitize)" >&2
    exit 2
    ;;
  esac
done
export LD_LIBRARY_PATH="$(lib_path):${LD_LIBRARY_PATH:-}"

phase_build() {
  step unpack-deps unpack_deps
  step configure configure
  step build cmake --build "$build" -j "$jobs"
  step info "$build/sombrero" info
}

phase_test() {
  step gpu-tests ctest --test-dir "$build" -L gpu --output-on-failure -j 4
  step all-tests ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

phase_bench() {
  phase_bench-kernels
  phase_bench-train
}

phase_bench-kernels() {
  # Hand-written kernels beside cuDNN / copy bandwidth / the unfused loss, one process each.
  step bench-conv "$build/sombrero" bench conv --json "$out/bench-conv-bf16.json"
  step bench-conv-f32 "$build/sombrero" bench conv --precision f32 --json "$out/bench-conv-f32.json"
  step bench-energy "$build/sombrero" bench energy --json "$out/bench-energy.json"
  step bench-loss "$build/sombrero" bench loss --json "$out/bench-loss.json"
  # BatchNorm / ReLU / add / pooling in GB/s against copy bandwidth, BatchNorm beside cuDNN's.
  step bench-memory "$build/sombrero" bench memory --json "$out/bench-memory-bf16.json"
  step bench-memory-f32 "$build/sombrero" bench memory --precision f32 \
    --json "$out/bench-memory-f32.json"
}

phase_bench-train() {
  # End to end: sombrero's training step, then PyTorch's on the same models and batch.
  step bench-train-step "$build/sombrero" bench train-step --iters 10 --warmup 3 \
    --json "$out/bench-train-step.json"
  # The same steps fed by the input pipeline (JPEG decode + RandomResizedCrop on the CPU
  # workers): is the GPU starved? The data-wait column says.
  step bench-train-step-jpeg sh -c "'$build/sombrero' bench loader --data '$out/jpegs' --generate 2048 --batches 1 >/dev/null && '$build/sombrero' bench train-step --model resnet50 --batch 256 --iters 10 --warmup 3 --data '$out/jpegs' --json '$out/bench-train-step-jpeg.json'; rc=\$?; rm -rf '$out/jpegs'; exit \$rc"
  step bench-pytorch python3 tools/bench_pytorch.py --iters 10 --warmup 3 --json "$out/bench-pytorch.json"
  # ResNet-50 one-hot with the bf16 convolutions on wgmma (conv.algo wgmma), last:
  # the newest kernel, whose failure should not hide the rows above.
  step bench-train-step-wgmma "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --algo wgmma --iters 10 --warmup 3 --json "$out/bench-train-step-wgmma.json"
}

phase_sanitize() {
  step memcheck timeout "${SANITIZE_TIMEOUT:-240}" bash -c "$(declare -f sanitize); build='$build'; sanitize memcheck"
  step racecheck timeout "${SANITIZE_TIMEOUT:-240}" bash -c "$(declare -f sanitize); build='$build'; sanitize racecheck"
}

for phase in "${phases[@]}"; do "phase_$phase"; done

# images/s of sombrero's one-hot step over PyTorch's eager and compiled steps, per model.
train_step_ratio() {
  [ -f "$out/bench-train-step.json" ] || return 0
  python3 - "$out/bench-train-step.json" "$out/bench-pytorch.json" <<'PY'
import json, sys
ours = {r["model"]: r for r in json.load(open(sys.argv[1]))["rows"] if r["u1_weight"] == 0}
try:
    theirs = json.load(open(sys.argv[2]))["rows"]
except (OSError, ValueError):
    theirs = []
for r in theirs:
    o = ours.get(r["model"])
    if o:
        print(f"{r['model']} batch {r['batch']}: sombrero {o['images_per_s']:.0f} img/s vs PyTorch "
              f"{r['mode']} {r['images_per_s']:.0f} img/s = {o['images_per_s'] / r['images_per_s']:.2f}x; "
              f"peak memory {o.get('peak_mib', 0):.0f} vs {r['peak_mib'] or 0:.0f} MiB")
PY
}

{
  echo
  echo "device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null) $(date -u +%Y-%m-%dT%H:%MZ)"
  grep -h "tests passed" "$out/gpu-tests.log" "$out/all-tests.log" 2>/dev/null | sed 's/^/ctest: /'
  echo
  echo "### sombrero / PyTorch training throughput"
  train_step_ratio | sed 's/^/- /'
  echo
  for log in bench-conv bench-conv-f32 bench-energy bench-loss bench-memory bench-memory-f32 \
    bench-train-step bench-train-step-jpeg bench-pytorch bench-train-step-wgmma; do
    [ -f "$out/$log.log" ] && { echo "### $log"; echo '```'; tail -n 50 "$out/$log.log"; echo '```'; }
  done
} >>"$table"
echo
cat "$table"
