#!/usr/bin/env bash
# One scripted pass on a CUDA machine (see ../shared/GPU.md): unpack the brought Debian
# packages, configure (finding cuDNN/NCCL in the system or in Python's nvidia/* wheels),
# build the CLI and the `gpu` tests with all cores, run the `gpu` tests, `sombrero info`,
# then `sombrero bench` (conv, energy, loss, memory, train-step) and tools/bench_pytorch.py
# on the same models, then compute-sanitizer over the kernel tests. Logs and a markdown
# results table go to $OUT (or ./gpu-results); the table is printed last. Stops with a clear
# message at the first failing step, unless GPU_CHECK_KEEP_GOING=1.
#
#   tools/gpu_check.sh                 # all phases; expects .gpu-deps/*.deb (fetch-deps.sh)
#   tools/gpu_check.sh build test      # some phases (see "Phases" below)
#
# Environment:
#   GPU_DEPS=DIR               the .deb files (default .gpu-deps); DEPS_PREFIX where they are
#                              unpacked (default /opt/deps)
#   GPU_CHECK_DEADLINE=SECONDS no step starts after this many seconds of the pass, and each
#                              step is stopped when they run out (a lease's command limit:
#                              set it below the limit so the table and logs are still written)
#   GPU_CHECK_KEEP_GOING=1     a failed step is recorded and the pass goes on (one-shot leases)
#   GPU_CHECK_TORCH_COMPILE=1  bench-pytorch also times torch.compile (minutes of compiling);
#                              by default PyTorch eager only, the baseline of issue #10
#   SANITIZE_TIMEOUT=SECONDS   each compute-sanitizer run's limit (one tool, one test binary;
#                              default 240)
#   SANITIZE_JOBS=N            compute-sanitizer runs at once (default 4)
#   COMPUTE_SANITIZER=PATH     the sanitizer to run (default: compute-sanitizer on PATH; the
#                              CPU test tests/tools/gpu_check_sanitize_test.sh gives a stub)
#   NCU_TIMEOUT=SECONDS        each Nsight Compute run's limit (phase ncu; default 180)
#   GPU_CHECK_PACK=FILE        when the pass ends (failed or not), every log, JSON file and the
#                              table packed into FILE (.tar.gz), for leases that return few files
#
# A one-shot lease of 10-minute commands, results packed into the lease's own $OUT (named
# before OUT is reassigned: the assignments expand left to right):
#   GPU_CHECK_PACK=$OUT/gpu-results.tar.gz OUT=/tmp/g GPU_CHECK_KEEP_GOING=1 \
#     GPU_CHECK_DEADLINE=540 tools/gpu_check.sh build test bench-kernels bench-train
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
out=${OUT:-$root/gpu-results}
mkdir -p "$out"
table="$out/results.md"
build=${BUILD_DIR:-build-gpu}
jobs=$(nproc)
deps_prefix=${DEPS_PREFIX:-/opt/deps}
deadline=${GPU_CHECK_DEADLINE:-0}
keep_going=${GPU_CHECK_KEEP_GOING:-0}
failures=0
export PATH=/usr/local/cuda/bin:$PATH

if [ -n "${GPU_CHECK_PACK:-}" ]; then
  # shellcheck disable=SC2064 # expanded now: the paths are fixed for the pass
  trap "tar czf '$GPU_CHECK_PACK' --exclude=./jpegs -C '$out' . 2>/dev/null" EXIT
fi
echo "| step | result | seconds | log |" >"$table"
echo "|---|---|---|---|" >>"$table"

# step NAME COMMAND...: runs COMMAND with its output in $out/NAME.log and records a table
# row. A failure stops the pass (printing the table) unless keep-going is set. Under a
# deadline, a step with under 20 seconds left is skipped and a command (not a shell
# function) is stopped when the time runs out.
step() {
  local name=$1
  shift
  local start=$SECONDS
  local limit=()
  if [ "$deadline" -gt 0 ]; then
    local left=$((deadline - SECONDS))
    if [ "$left" -lt 20 ]; then
      echo "| $name | skipped: deadline | 0 | |" >>"$table"
      return 0
    fi
    [ "$(type -t "$1")" = function ] || limit=(timeout --kill-after=5 "$left")
  fi
  echo "== $name: $*"
  "${limit[@]}" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    echo "| $name | ok | $((SECONDS - start)) | $name.log |" >>"$table"
    return 0
  fi
  local result=FAILED
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && [ ${#limit[@]} -gt 0 ] && result="FAILED: deadline"
  echo "| $name | $result | $((SECONDS - start)) | $name.log |" >>"$table"
  echo "gpu_check: step '$name' failed (exit $rc); last lines of $out/$name.log:" >&2
  tail -n 40 "$out/$name.log" >&2
  failures=$((failures + 1))
  [ "$keep_going" = 1 ] && return 1
  cat "$table"
  exit 1
}

unpack_deps() {
  local deps=${GPU_DEPS:-$root/.gpu-deps}
  if ! ls "$deps"/*.deb >/dev/null 2>&1; then
    echo "no .deb files in $deps: run ../shared/gpu/fetch-deps.sh $deps on a machine with apt" >&2
    return 1
  fi
  # The JPEG decoder needs libjpeg's API (jpeglib.h), which ../shared/gpu/fetch-deps.sh does
  # not fetch; every .deb here is unpacked, so adding the two packages is enough.
  if ! ls "$deps"/libjpeg62-turbo-dev_*.deb >/dev/null 2>&1 && [ ! -e /usr/include/jpeglib.h ]; then
    echo "no libjpeg62-turbo-dev in $deps and no jpeglib.h on this machine: run" \
      "(cd $deps && apt-get download libjpeg62-turbo libjpeg62-turbo-dev) on a machine with apt" >&2
    return 1
  fi
  mkdir -p "$deps_prefix"
  for f in "$deps"/*.deb; do dpkg -x "$f" "$deps_prefix" || return 1; done
  # What dpkg's scripts would have done: absolute links (zlib1g-dev's libz.so) point into
  # the prefix, and the libopenblas.so alternative names the pthread build.
  local link target
  while IFS= read -r link; do
    target=$(readlink "$link")
    if [ "${target#/}" != "$target" ] && [ -e "$deps_prefix$target" ]; then
      ln -sfn "$deps_prefix$target" "$link"
    fi
  done < <(find "$deps_prefix" -type l)
  local multiarch=$deps_prefix/usr/lib/x86_64-linux-gnu
  for lib in libopenblas.so libopenblas.so.0 libblas.so libblas.so.3; do
    [ -e "$multiarch/openblas-pthread/$lib" ] && ln -sfn "openblas-pthread/$lib" "$multiarch/$lib"
  done
  echo "unpacked $(ls "$deps"/*.deb | wc -l) packages into $deps_prefix"
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
    -DCMAKE_PREFIX_PATH="$deps_prefix/usr" -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DSOMBRERO_MPI=AUTO "${extra[@]}"
}

# Library paths for the unpacked packages and the pip-installed CUDA libraries.
lib_path() {
  local paths=$deps_prefix/usr/lib/x86_64-linux-gnu
  local nvidia
  nvidia=$(python3 -c "import nvidia, os; print(nvidia.__path__[0])" 2>/dev/null || true)
  for lib in cudnn nccl cublas; do
    [ -d "$nvidia/$lib/lib" ] && paths="$paths:$nvidia/$lib/lib"
  done
  echo "$paths"
}

# compute-sanitizer over the kernel tests: memcheck over every gpu test case, racecheck
# over those of a size it finishes (racecheck instruments every shared-memory access: the
# convolution tests over all ResNet-50 shapes ran for minutes per shape on an H200; their
# tiles are raced on the edge-case shapes, the fused loss on its small looping case). One
# job per (tool, test binary), SANITIZE_JOBS (default 4) at a time on the one GPU, each
# limited to SANITIZE_TIMEOUT seconds (default 240; running out is a failure: narrow the
# filter rather than skip a kernel unseen). Each job's output: $out/sanitize/TOOL-TEST.log.
# NCCL probes its kernels for the device at start-up through API calls that fail by design,
# so API errors are not reported for the test that starts NCCL; memory errors still are.
sanitize_one() {
  local tool=$1 test=$2 name api_errors=() filter='*Gpu*:*GPU*:*gpu*'
  [ "$tool" = racecheck ] && filter="$filter:-*ResNet50*:*ResNetShape*:*Epilogue*:*TrainStep*"
  # The default (explicit API calls) stays; "yes" is not a value CUDA 13's sanitizer takes.
  case $test in *nccl*) api_errors=(--report-api-errors no) ;; esac
  name=$tool-$(basename "$test")
  local start=$SECONDS rc
  # cuBLAS's GEMMs under racecheck (CUDA 13.0, sanitizer 2025.3.1, H100): 176 hazards inside
  # its own nvjet kernel, and with that kernel excluded by name the sanitizer fails on a
  # hardware exception. The test's kernels of ours (bias add, bias gradient) are raced in
  # pointwise's test; memcheck still runs this one whole.
  if [ "$tool" = racecheck ] && [[ $test == *linear_cublas* ]]; then
    echo "$name: skipped, cuBLAS's kernels (memcheck runs it; our bias kernels: pointwise)"
    return 0
  fi
  # A binary whose every case is left out by the filter (the convolution's ResNet-50 shapes:
  # racecheck covers its tiles through conv2d_op's edge cases) would run no kernel, which
  # the sanitizer reports as an error.
  local listed
  if listed=$("$test" --gtest_list_tests --gtest_filter="$filter" 2>&1) &&
    ! grep -q '^ ' <<<"$listed"; then
    echo "$name: skipped, no test case under the filter $filter"
    return 0
  fi
  timeout --kill-after=5 "${SANITIZE_TIMEOUT:-240}" "${COMPUTE_SANITIZER:-compute-sanitizer}" \
    --tool "$tool" "${api_errors[@]}" --error-exitcode 1 "$test" --gtest_filter="$filter" \
    >"$out/sanitize/$name.log" 2>&1
  rc=$?
  local result=ok
  [ $rc -eq 0 ] || result="FAILED (exit $rc)"
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && result="FAILED: not done in ${SANITIZE_TIMEOUT:-240} s"
  echo "$name: $result, $((SECONDS - start)) s ($(grep -ho 'ERROR SUMMARY: .*' \
    "$out/sanitize/$name.log" | tail -n 1))"
  [ $rc -eq 0 ]
}

sanitize_all() {
  mkdir -p "$out/sanitize"
  local tests
  tests=$(ls -1 "$build"/tests/*simt_gpu* "$build"/tests/*_gpu_test "$build"/tests/*kernel* \
    2>/dev/null | sort -u) # each once: the globs overlap (kernels_*_gpu_test)
  # Longest first (the pass ends with the last job to finish): the tests that run every
  # ResNet-50 shape or a whole model, then the rest.
  local runs=() first=() rest=()
  for test in $tests; do
    [ -x "$test" ] || continue
    case $(basename "$test") in
    *conv2d_gpu* | *model_device* | *u1_loss_gpu* | *batch_norm_gpu* | *trainer_*)
      first+=("memcheck $test" "racecheck $test") ;;
    *) rest+=("memcheck $test" "racecheck $test") ;;
    esac
  done
  runs=("${first[@]}" "${rest[@]}")
  export -f sanitize_one
  export out
  printf '%s\n' "${runs[@]}" | xargs -P "${SANITIZE_JOBS:-4}" -L 1 bash -c 'sanitize_one "$@"' _
}

# Phases, in this order unless named on the command line (a warm machine keeps the build
# between calls, so a session may run `build test` in one call and `bench` in the next):
#   build     unpack the packages, configure, build the CLI and the gpu tests, `sombrero info`
#   test      the gpu tests
#   bench     kernels beside cuDNN / copy bandwidth, the all-reduce over the machine's GPUs,
#             training steps beside PyTorch; the same as two phases, for a 10-minute command
#             limit: bench-kernels (bf16), bench-train
#   sanitize  compute-sanitizer memcheck and racecheck over the kernel tests (slowest: last;
#             SANITIZE_JOBS runs at once, each limited to SANITIZE_TIMEOUT seconds)
# and on request only:
#   bench-f32 the convolutions and memory-bound kernels on f32 tensors beside cuDNN (left out
#             of the default pass so that it ends within 10 minutes on an H100, issue #10)
#   test-all  build everything (the SIMT tests too) and run every test (CI runs the CPU ones)
#   tiles     the wgmma tile shapes (SOMBRERO_WGMMA_TILE): bench conv with the automatic
#             choice and with m128_sync, n64_sync, m64_sync forced everywhere, the ResNet-50
#             one-hot step with auto and m128_sync, and the step's profile on the default;
#             for choosing the automatic shape (m128_async, m256_async: 2026-11-26-h200-tiles)
#   u1        the energy / fused-loss kernels alone: their gpu tests (the resident kernels'
#             looping case, one block and a pair per sample, under racecheck too), bench
#             energy and loss, the ResNet-50 step (U(1) cost), Nsight Compute on one launch
#             of the resident kernel (bf16) and of its pair (f32)
#   ncu       Nsight Compute's full sections on a few launches of the kernels behind the
#             open targets (the conv tiles on one 3x3 shape, the fused loss, the energy
#             forward): throughputs, occupancy, stall reasons; reports and text in $OUT
phases=("$@")
[ ${#phases[@]} -eq 0 ] && phases=(build test bench sanitize)
for phase in "${phases[@]}"; do
  case $phase in build | test | test-all | bench | bench-kernels | bench-train | bench-f32 | \
    sanitize | tiles | ncu | u1) ;;
  *)
    echo "gpu_check: unknown phase '$phase' (build, test, test-all, bench, bench-kernels," \
      "bench-train, bench-f32, sanitize, tiles, ncu, u1)" >&2
    exit 2
    ;;
  esac
done
LD_LIBRARY_PATH="$(lib_path):${LD_LIBRARY_PATH:-}"
export LD_LIBRARY_PATH

phase_build() {
  step unpack-deps unpack_deps
  step configure configure
  # -k 0: every compile error in one pass, and whatever does not depend on them still built
  step build cmake --build "$build" -j "$jobs" --target gpu_tests -- -k 0
  step info "$build/sombrero" info
}

phase_test() {
  step gpu-tests ctest --test-dir "$build" -L gpu --output-on-failure -j 4
}

phase_test-all() {
  step build-all cmake --build "$build" -j "$jobs"
  step all-tests ctest --test-dir "$build" --output-on-failure -j "$jobs"
}

phase_bench() {
  phase_bench-kernels
  phase_bench-train
}

phase_bench-kernels() {
  # Hand-written kernels beside cuDNN / copy bandwidth / the unfused loss, one process each,
  # the issues' targets first (under a deadline the last ones are the ones skipped).
  step bench-conv "$build/sombrero" bench conv --json "$out/bench-conv-bf16.json"
  step sass-loops sass_loops
  step bench-energy "$build/sombrero" bench energy --json "$out/bench-energy.json"
  step bench-loss "$build/sombrero" bench loss --json "$out/bench-loss.json"
  # BatchNorm / ReLU / add / pooling in GB/s against copy bandwidth, BatchNorm beside cuDNN's.
  step bench-memory "$build/sombrero" bench memory --json "$out/bench-memory-bf16.json"
  step bench-allreduce bench_allreduce
}

# Instructions per thread and K step in the main loops of the conv kernels (static SASS of
# this build, tools/sass_loop.py), to read beside bench-conv's times: the wgmma tiles were
# issue-bound on their address arithmetic (docs/conv.md).
sass_loops() {
  local pass
  for pass in forward backward_data backward_filter; do
    echo "== conv2d_$pass"
    cuobjdump -sass "$build/kernels/CMakeFiles/sombrero_kernels.dir/conv/conv2d_$pass.cu.o" |
      python3 tools/sass_loop.py conv_gemm_kernel || return 1
  done
}

# The data-parallel gradient all-reduce (bench allreduce): NCCL over every GPU of the
# machine, one process per GPU, the ranks meeting through a TCP rendezvous on localhost.
# NCCL refuses two ranks on one GPU, so a one-GPU machine says so and times nothing.
bench_allreduce() {
  local gpus
  gpus=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
  if [ "$gpus" -lt 2 ]; then
    echo "$gpus GPU(s): NCCL all-reduces across GPUs, nothing to time on this machine" \
      "(sombrero bench allreduce --cpu times the CPU communicator)"
    return 0
  fi
  local address=127.0.0.1:$((20000 + RANDOM % 12000)) pids=() rank failed=0
  for ((rank = 0; rank < gpus; ++rank)); do
    local json=()
    [ "$rank" -eq 0 ] && json=(--json "$out/bench-allreduce.json")
    RANK=$rank WORLD_SIZE=$gpus LOCAL_RANK=$rank "$build/sombrero" bench allreduce --max 1GB \
      --init env-tcp --rendezvous "$address" --timeout 120 "${json[@]}" \
      >"$out/bench-allreduce.rank$rank.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  cat "$out/bench-allreduce.rank0.log"
  [ "$failed" -eq 0 ] || { tail -n 20 "$out"/bench-allreduce.rank*.log; return 1; }
}

phase_tiles() {
  local tile
  for tile in auto m128_sync n64_sync m64_sync; do
    step "bench-conv-$tile" env SOMBRERO_WGMMA_TILE=$tile "$build/sombrero" bench conv \
      --json "$out/bench-conv-$tile.json"
  done
  for tile in auto m128_sync; do
    step "bench-train-step-$tile" env SOMBRERO_WGMMA_TILE=$tile "$build/sombrero" bench \
      train-step --model resnet50 --u1 0 --algo wgmma --iters 10 --warmup 3 \
      --json "$out/bench-train-step-$tile.json"
  done
  step bench-energy "$build/sombrero" bench energy --json "$out/bench-energy.json"
  step bench-loss "$build/sombrero" bench loss --json "$out/bench-loss.json"
  step bench-train-profile "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --iters 5 --warmup 2 --profile --json "$out/bench-train-profile.json"
}

phase_bench-f32() {
  # The same kernels on f32 tensors (the tf32-free FMA path) beside cuDNN's.
  step bench-conv-f32 "$build/sombrero" bench conv --precision f32 --json "$out/bench-conv-f32.json"
  step bench-memory-f32 "$build/sombrero" bench memory --precision f32 \
    --json "$out/bench-memory-f32.json"
}

phase_bench-train() {
  # End to end: sombrero's training step, then PyTorch's on the same models and batch.
  step bench-train-step "$build/sombrero" bench train-step --iters 10 --warmup 3 \
    --json "$out/bench-train-step.json"
  # Where the step's time goes: by scope and by kernel, and the share no kernel accounts for.
  step bench-train-profile "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --iters 5 --warmup 2 --profile --json "$out/bench-train-profile.json"
  local compile=(--no-compile)
  [ "${GPU_CHECK_TORCH_COMPILE:-0}" = 1 ] && compile=()
  step bench-pytorch python3 tools/bench_pytorch.py --iters 10 --warmup 3 "${compile[@]}" \
    --json "$out/bench-pytorch.json"
  # ResNet-50 one-hot with the mma.sync convolutions (conv.algo hand) beside the default
  # (auto: wgmma on an H100/H200).
  step bench-train-step-hand "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --algo hand --iters 10 --warmup 3 --json "$out/bench-train-step-hand.json"
  # ResNet-50 one-hot with every BatchNorm's backward in its own passes beside the default
  # (their sums in the next convolution's backward-data epilogue): what that fusion is worth.
  step bench-train-step-bn-own "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --bn-backward own --iters 10 --warmup 3 --json "$out/bench-train-step-bn-own.json"
  # And with the epilogue reading the ReLU's output for its mask instead of recomputing it
  # from the BatchNorm's input (what recomputing saves: one read of every bn1/bn2 output).
  step bench-train-step-bn-read "$build/sombrero" bench train-step --model resnet50 --u1 0 \
    --bn-backward fused-reading-relu --iters 10 --warmup 3 \
    --json "$out/bench-train-step-bn-read.json"
  # The same steps fed by the input pipeline (JPEG decode + RandomResizedCrop on the CPU
  # workers): is the GPU starved? The data-wait column says.
  step bench-train-step-jpeg sh -c "'$build/sombrero' bench loader --data '$out/jpegs' --generate 2048 --batches 1 >/dev/null && '$build/sombrero' bench train-step --model resnet50 --batch 256 --iters 10 --warmup 3 --data '$out/jpegs' --json '$out/bench-train-step-jpeg.json'; rc=\$?; rm -rf '$out/jpegs'; exit \$rc"
}

# ncu-<name>: profiles the first `count` launches matching `kernels` in `command...` (clocks
# left alone, as on the device machine's advice; at most NCU_TIMEOUT seconds, default 180),
# then writes the report's details page as text beside it.
ncu_profile() {
  local name=$1 kernels=$2 count=$3
  shift 3
  timeout "${NCU_TIMEOUT:-180}" ncu --set full --clock-control none \
    --kernel-name "regex:$kernels" --launch-count "$count" --force-overwrite \
    --export "$out/ncu-$name" "$@" && ncu --import "$out/ncu-$name.ncu-rep" --page details
}

phase_ncu() {
  # One 3x3 shape of layer3, every pass, the mma.sync tile then the wgmma tile (one run each).
  step ncu-conv ncu_profile conv conv_gemm_kernel 6 "$build/sombrero" bench conv \
    --filter layer3.1.conv2 --iters 1 --warmup 0
  step ncu-loss ncu_profile loss "u1_loss_.*_kernel|energy_forward_kernel" 4 "$build/sombrero" \
    bench loss --precision bf16 --iters 1 --warmup 0
  step ncu-energy ncu_profile energy energy_forward_kernel 2 "$build/sombrero" bench energy \
    --precision bf16 --iters 1 --warmup 0
}

phase_u1() {
  step gpu-tests-u1 ctest --test-dir "$build" -L gpu -R u1_loss_gpu --output-on-failure
  # The resident kernel's shared-memory hand-offs (double-buffered totals, slots refilled
  # in place) under racecheck, on the looping case.
  step racecheck-u1 timeout "${SANITIZE_TIMEOUT:-240}" compute-sanitizer --tool racecheck \
    --error-exitcode 1 "$build/tests/kernels_u1_loss_gpu_test" --gtest_filter='U1LossGpuResident.*'
  step bench-energy "$build/sombrero" bench energy --json "$out/bench-energy.json"
  step bench-loss "$build/sombrero" bench loss --json "$out/bench-loss.json"
  step bench-train-step-resnet50 "$build/sombrero" bench train-step --model resnet50 \
    --iters 10 --warmup 3 --json "$out/bench-train-step-resnet50.json"
  step ncu-loss-resident ncu_profile loss-resident u1_loss_resident_kernel 1 "$build/sombrero" \
    bench loss --precision bf16 --iters 1 --warmup 0
  # f32 at ResNet-50's size runs on a pair of blocks per sample (a 2-block cluster).
  step ncu-loss-pair ncu_profile loss-pair u1_loss_resident_kernel 1 "$build/sombrero" \
    bench loss --precision f32 --iters 1 --warmup 0
}

phase_sanitize() {
  step sanitize bash -c "$(declare -f sanitize_one sanitize_all); build='$build' out='$out'; sanitize_all"
}

for phase in "${phases[@]}"; do "phase_$phase"; done

# images/s of sombrero's one-hot step over PyTorch's eager and compiled steps, per model.
train_step_ratio() {
  [ -f "$out/bench-train-step.json" ] || return 0
  python3 - "$out/bench-train-step.json" "$out/bench-pytorch.json" \
    "$out/bench-train-step-jpeg.json" "$out/bench-train-step-bn-own.json" \
    "$out/bench-train-step-bn-read.json" <<'PY'
import json, sys
def rows(path):
    try:
        return json.load(open(path))["rows"]
    except (OSError, ValueError):
        return []
synthetic = rows(sys.argv[1])
ours = {r["model"]: r for r in synthetic if r["u1_weight"] == 0}
for r in rows(sys.argv[2]):
    o = ours.get(r["model"])
    if o:
        print(f"{r['model']} batch {r['batch']}: sombrero {o['images_per_s']:.0f} img/s vs PyTorch "
              f"{r['mode']} {r['images_per_s']:.0f} img/s = {o['images_per_s'] / r['images_per_s']:.2f}x; "
              f"peak memory {o.get('peak_mib', 0):.0f} vs {r['peak_mib'] or 0:.0f} MiB")
for r in synthetic:
    if "u1_cost" in r:
        print(f"{r['model']} batch {r['batch']}: the U(1) term (lambda {r['u1_weight']:g}) costs "
              f"{100 * r['u1_cost']:.2f}% of the step")
# Fed from JPEGs against the same step on data already on the device: the GPU starves by
# the difference (ms/step is timed on the GPU, idle gaps included); the host's wait for the
# loader overlaps the work it issued before.
same = {(r["model"], r["batch"], r["u1_weight"]): r for r in synthetic}
for r in rows(sys.argv[3]):
    s = same.get((r["model"], r["batch"], r["u1_weight"]))
    if s:
        loss = "one-hot" if r["u1_weight"] == 0 else f"+ {r['u1_weight']:g} U(1)"
        print(f"{r['model']} batch {r['batch']}, {loss}, from JPEGs: {r['ms_per_step']:.2f} ms/step vs "
              f"{s['ms_per_step']:.2f} on device data ({100 * (r['ms_per_step'] / s['ms_per_step'] - 1):+.1f}%); "
              f"the host waited for the loader {100 * r.get('data_wait', 0):.1f}% of the step")
# The default step against a variant of it (same model, batch, loss) in the same run.
def versus(path, default, variant):
    for r in rows(path):
        s = same.get((r["model"], r["batch"], r["u1_weight"]))
        if s:
            print(f"{r['model']} batch {r['batch']}: {default} {s['ms_per_step']:.2f} ms/step vs "
                  f"{r['ms_per_step']:.2f} {variant} "
                  f"({100 * (s['ms_per_step'] / r['ms_per_step'] - 1):+.1f}%)")
# The BatchNorm backward sums in the next convolution's backward-data epilogue (the default)
# against every BatchNorm's own passes; there, the ReLU's mask recomputed from the
# BatchNorm's input (the default) against read from its output.
versus(sys.argv[4], "BatchNorm backward sums in the conv epilogue", "in their own passes")
versus(sys.argv[5], "the ReLU's mask recomputed in that epilogue", "reading the ReLU's output")
PY
}

# The fused loss against issue #5's target (85% of copy bandwidth, one run after an L2 flush):
# per precision, the automatic kernel as the trainer runs it, and each variant of its feeding
# timed beside it (bench loss's rows: L2 heads, L2 next batch, bulk copies), best first.
loss_summary() {
  [ -f "$out/bench-loss.json" ] || return 0
  python3 - "$out/bench-loss.json" <<'PY'
import json, sys
try:
    rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r.get("bench") == "loss"]
except (OSError, ValueError):
    rows = []
for precision in sorted({r["precision"] for r in rows}):
    mine = [r for r in rows if r["precision"] == precision and r["kernel"] != "streaming"]
    default = next((r for r in mine if r.get("automatic")), None)
    if not default:
        continue
    def name(r):
        parts = [r["kernel"]]
        if r.get("head_prefetch_bytes") != default.get("head_prefetch_bytes"):
            parts.append(f"L2 heads {r.get('head_prefetch_bytes', 0) // 1024} KB")
        if bool(r.get("sweep_prefetch")) != bool(default.get("sweep_prefetch")):
            parts.append("L2 next batch" if r.get("sweep_prefetch") else "no L2 next batch")
        if bool(r.get("bulk_first_sweep")) != bool(default.get("bulk_first_sweep")):
            parts.append("bulk first sweep" if r.get("bulk_first_sweep") else "no bulk first sweep")
        if bool(r.get("bulk_next_samples")) != bool(default.get("bulk_next_samples")):
            parts.append("bulk every sample" if r.get("bulk_next_samples") else "no bulk every sample")
        return ", ".join(parts) + (" (default)" if r is default else "")
    ranked = sorted(mine, key=lambda r: r["fused_ms"])
    print(f"{precision}: " + "; ".join(
        f"{name(r)} {1e3 * r['fused_ms']:.1f} us = {100 * r['fraction_of_copy']:.1f}%"
        for r in ranked) + " of copy (target 85%)")
PY
}

{
  echo
  echo "device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null) $(date -u +%Y-%m-%dT%H:%MZ)"
  # The whole default pass (build test bench sanitize) is meant to take under 10 minutes on
  # an H100 (issue #10); the seconds column above says which step to trim when it does not.
  echo "pass: ${phases[*]} in $SECONDS s"
  grep -h "tests passed" "$out/gpu-tests.log" "$out/all-tests.log" 2>/dev/null | sed 's/^/ctest: /'
  echo
  echo "### training steps: beside PyTorch, the U(1) term's cost, fed from JPEGs"
  train_step_ratio | sed 's/^/- /'
  echo
  echo "### the fused loss's kernels against 85% of copy bandwidth (issue #5)"
  loss_summary | sed 's/^/- /'
  echo
  for log in bench-conv bench-conv-f32 bench-energy bench-loss bench-memory bench-memory-f32 \
    bench-allreduce \
    bench-train-step bench-train-step-jpeg bench-pytorch bench-train-step-hand \
    bench-train-step-bn-own bench-train-step-bn-read \
    bench-train-step-auto bench-train-step-m128_sync; do
    [ -f "$out/$log.log" ] && { echo "### $log"; echo '```'; tail -n 50 "$out/$log.log"; echo '```'; }
  done
} >>"$table"
echo
cat "$table"
[ "$failures" -eq 0 ] || {
  echo "gpu_check: $failures step(s) failed (see the table)" >&2
  exit 1
}
