#!/usr/bin/env bash
# tools/gpu_check.sh's sanitize phase on a machine without a GPU: a stub compute-sanitizer
# that accepts only the options CUDA 13's does (2025.3.1: --report-api-errors takes all,
# explicit or no; "yes" made every run of the 2026-11-27 H100 pass fail before it started)
# and stub gtest binaries. Checks which runs the phase starts, with which options, what it
# skips and why, and that one failing run fails the step and the pass (exit status and table).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build/tests"

# The stub sanitizer: validates its options, logs them, runs the program; the program fails
# (exit 1, as --error-exitcode asks) when its name contains $STUB_FAIL.
cat >"$work/compute-sanitizer" <<'EOF'
#!/usr/bin/env bash
args=("$@") tool=memcheck
while [ $# -gt 0 ]; do
  case $1 in
  --tool)
    case $2 in memcheck | racecheck | initcheck | synccheck) tool=$2 ;;
    *) echo "the argument for option '--tool' is invalid" >&2; exit 255 ;; esac
    shift 2 ;;
  --report-api-errors)
    case $2 in all | explicit | no) ;;
    *) echo "the argument for option '--report-api-errors' is invalid" >&2; exit 255 ;; esac
    shift 2 ;;
  --error-exitcode) shift 2 ;;
  --*) echo "unrecognised option '$1'" >&2; exit 255 ;;
  *) break ;;
  esac
done
echo "$tool $(basename "$1") ${args[*]}" >>"$STUB_CALLS"
[ -n "${STUB_FAIL:-}" ] && [[ $(basename "$1") == *$STUB_FAIL* ]] && {
  echo "========= ERROR SUMMARY: 1 error"; exit 1; }
"$@" && echo "========= ERROR SUMMARY: 0 errors"
EOF
chmod +x "$work/compute-sanitizer"

# A stub gtest binary: lists one case of each name given, unless the filter's negative part
# names it (the way racecheck leaves out the all-ResNet-50-shape cases).
make_test() {
  local name=$1
  shift
  {
    echo '#!/usr/bin/env bash'
    echo "cases=($*)"
    cat <<'EOF'
filter= list=0
for arg; do
  case $arg in --gtest_filter=*) filter=${arg#--gtest_filter=} ;; --gtest_list_tests) list=1 ;; esac
done
negative=
[[ $filter == *:-* ]] && negative=${filter#*:-}
[ "$list" = 1 ] && echo "Suite."
for c in "${cases[@]}"; do
  [ -n "$negative" ] && [[ ":$negative:" == *":*$c*:"* ]] && continue
  [ "$list" = 1 ] && echo "  $c"
done
exit 0
EOF
  } >"$work/build/tests/$name"
  chmod +x "$work/build/tests/$name"
}
make_test kernels_conv2d_gpu_test ResNet50 Epilogue
make_test kernels_pool_gpu_test MatchesTheCpuBackend
make_test kernels_linear_cublas_gpu_test MatchesTheCpuBackend
make_test trainer_nccl_step_gpu_test TrainStep AllReduce

run_phase() {
  rm -rf "$work/out" "$work/calls"
  STUB_CALLS=$work/calls COMPUTE_SANITIZER=$work/compute-sanitizer BUILD_DIR=$work/build \
    OUT=$work/out "$root/tools/gpu_check.sh" sanitize >"$work/stdout" 2>&1
}
fail() {
  echo "FAIL: $*" >&2
  echo "--- sanitize.log" >&2
  cat "$work/out/sanitize.log" >&2 || true
  echo "--- calls" >&2
  cat "$work/calls" >&2 || true
  exit 1
}
calls() { sort "$work/calls"; }

# 1. All pass: memcheck over every binary, racecheck over those with a case left and not
#    cuBLAS's; API errors reported (the sanitizer's default) except for NCCL's test.
STUB_FAIL='' run_phase || fail "the phase failed with every run passing"
grep -q '| sanitize | ok |' "$work/out/results.md" || fail "table: sanitize not ok"
for t in kernels_conv2d_gpu_test kernels_pool_gpu_test kernels_linear_cublas_gpu_test \
  trainer_nccl_step_gpu_test; do
  calls | grep -q "^memcheck $t " || fail "no memcheck run of $t"
done
for t in kernels_pool_gpu_test trainer_nccl_step_gpu_test; do
  calls | grep -q "^racecheck $t " || fail "no racecheck run of $t"
done
calls | grep -q '^racecheck kernels_conv2d_gpu_test ' && fail "racecheck ran a binary with no case"
grep -q 'racecheck-kernels_conv2d_gpu_test: skipped, no test case' "$work/out/sanitize.log" ||
  fail "the empty racecheck run is not reported as skipped"
calls | grep -q '^racecheck kernels_linear_cublas_gpu_test ' && fail "racecheck ran cuBLAS's test"
grep -q "racecheck-kernels_linear_cublas_gpu_test: skipped, cuBLAS" "$work/out/sanitize.log" ||
  fail "the cuBLAS racecheck skip is not reported"
[ "$(calls | grep -c 'trainer_nccl_step_gpu_test.*--report-api-errors no')" = 2 ] ||
  fail "NCCL's test does not run with API errors off under both tools"
calls | grep -v nccl | grep -q -- '--report-api-errors' && fail "API errors turned off beyond NCCL"

# 2. One run fails: the step and the pass fail, the table and the log say which.
if STUB_FAIL=pool_gpu run_phase; then fail "the phase passed with a failing run"; fi
grep -q '| sanitize | FAILED |' "$work/out/results.md" || fail "table: sanitize not FAILED"
grep -q 'memcheck-kernels_pool_gpu_test: FAILED (exit 1)' "$work/out/sanitize.log" ||
  fail "the failing run is not named"
grep -q "gpu_check: step 'sanitize' failed" "$work/stdout" || fail "no failure message"
echo "gpu_check sanitize phase: runs, skips and failures as expected"
