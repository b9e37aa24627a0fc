#!/usr/bin/env bash
# The science commands as a user meets them: train a tiny model on synthetic data for a few
# steps, then `sombrero memory-eval` and `sombrero analyze` on its last checkpoint; check the
# exit codes, the printed fields and the files written (PNG signatures, CSV rows, report).
# Usage: science_cli_test.sh <sombrero binary> <source dir>
set -euo pipefail
sombrero=$1
config=$2/configs/fashion_mnist.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "science cli: $*" >&2; exit 1; }

"$sombrero" train "$config" --set data.dataset=synthetic --set data.image_size=28 \
  --set data.synthetic_samples=64 --set data.batch_size=32 --set model.width=4 \
  --set train.epochs=1 --out "$work/run" > "$work/train.log"
checkpoint=$work/run/last.safetensors
[[ -f $checkpoint ]] || fail "training wrote no last.safetensors"

# memory-eval: a memory of 40 of the 64 training images, k = 3, all 64 evaluation images.
"$sombrero" memory-eval --checkpoint "$checkpoint" --k 3 --train-limit 40 > "$work/memory.log"
cat "$work/memory.log"
grep -Eq "^memory: 40 training images, [0-9]+ features each, in .* images/s\)" "$work/memory.log" \
  || fail "memory line missing"
grep -Eq "^evaluation: 64 images in .* images/s\); kNN search 64 x 40 x [0-9]+ in" \
  "$work/memory.log" || fail "evaluation line missing"
grep -Eq "^kNN top-1 \(k=3, cosine\) [0-9.]+%  class-mean-angle top-1 [0-9.]+% \([0-9]+ of 10 classes in memory\)  trained angle readout top-1 [0-9.]+%" \
  "$work/memory.log" || fail "accuracy line missing"
# A bad value is one clear error and a non-zero exit.
if "$sombrero" memory-eval --checkpoint "$checkpoint" --k 0 2> "$work/bad_k.log"; then
  fail "--k 0 was accepted"
fi
grep -q -- "--k must be an integer >= 1, got '0'" "$work/bad_k.log" || fail "no message for --k 0"

# analyze: 40 evaluation images into a fresh folder.
out=$work/analysis
"$sombrero" analyze --checkpoint "$checkpoint" --out "$out" --limit 40 > "$work/analyze.log"
cat "$work/analyze.log"
grep -q "^40 images in .* bottleneck tap '" "$work/analyze.log" || fail "no image count"
grep -Eq "^class 0 +n [0-9]+ +mean angle .* R [0-9.]+  Rayleigh p [0-9.e+-]+" "$work/analyze.log" \
  || fail "no per-class line"
grep -Eq "^all classes n 40 +mean angle" "$work/analyze.log" || fail "no all-classes line"
grep -q "^wrote [0-9]* files to $out" "$work/analyze.log" || fail "no files line"
layers=$(grep -c "^energy " "$work/analyze.log")
(( layers >= 2 )) || fail "expected energy lines for several spatial layers, got $layers"
(( $(ls "$out"/energy_*.png | wc -l) == layers )) || fail "one heat map per spatial layer expected"
(( $(ls "$out"/radial_*.csv | wc -l) == layers )) || fail "one radial CSV per spatial layer expected"
(( $(ls "$out"/angles_class_*.png | wc -l) == 10 )) || fail "one rose per class expected"
for png in "$out"/*.png; do
  [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
done
for csv in "$out"/radial_*.csv; do
  [[ $(head -1 "$csv") == "bin,r_low,r_high,sites,mean_energy,relative_to_map_mean" ]] \
    || fail "$csv header"
  (( $(wc -l < "$csv") == 17 )) || fail "$csv should hold 16 rings"
done
[[ $(head -1 "$out/class_angles.csv") == class,name,n,theta_deg,* ]] || fail "class_angles.csv header"
(( $(wc -l < "$out/class_angles.csv") == 11 )) || fail "class_angles.csv should hold 10 classes"
# The per-class counts add up to the images analysed.
total=$(tail -n +2 "$out/class_angles.csv" | awk -F, '{ n += $3 } END { print n }')
(( total == 40 )) || fail "class counts add up to $total, not 40"
grep -q "^## Mean energy maps" "$out/report.md" || fail "report lacks the energy section"
grep -q "^## The phase angle(z) per class" "$out/report.md" || fail "report lacks the phase section"
grep -q "](angles_class_9.png)" "$out/report.md" || fail "report does not link the roses"
# The same analysis on the CUDA code path executed on the CPU (train.device simt: the layers'
# kernels and the energy kernel): energy maps are sums of squares of identical activations,
# so the radial profiles are equal to the digit.
"$sombrero" analyze --checkpoint "$checkpoint" --out "$work/analysis-simt" --limit 40 \
  --set train.device=simt > "$work/analyze-simt.log"
for csv in "$out"/radial_*.csv; do
  cmp -s "$csv" "$work/analysis-simt/$(basename "$csv")" || fail "$(basename "$csv") differs on simt"
done
# An output folder that cannot be created: one clear error before any work.
if "$sombrero" analyze --checkpoint "$checkpoint" --out /proc/sombrero-nope 2> "$work/bad_out.log"; then
  fail "an unwritable --out was accepted"
fi
grep -q "cannot create the output folder '/proc/sombrero-nope'" "$work/bad_out.log" \
  || fail "no message for an unwritable --out"
echo ok
