#!/usr/bin/env bash
# The `book` profile of every recipe (the book's exact settings) on one GPU, then the report table.
#
#   bash benchmarks/gpu_reproduce.sh [OUT] [RESULTS]
#
#   OUT      the reproduce folder (default runs/gpu-reproduce); running again continues it
#   RESULTS  a folder that receives the report alone, for a machine whose results come back
#            through a small folder: REPORT.md, results.json, summary.png, a log, and runs.tgz
#            (every recipe's summaries, metrics and curves; no checkpoints)
#
# Fashion-MNIST must be found (`d2lkit data info`). On a machine without network, bring the four
# files: `mkdir -p data && cp -r /usr/share/datasets/fashion-mnist data/` here (data/ is ignored
# by git); the script uses data/fashion-mnist when $D2LKIT_DATA is not set.
#
# Why 10 minutes on one modern GPU (A100 / H100 class) should do, by a count not yet timed:
# - No per-sample work: d2lkit's loader keeps Fashion-MNIST on the GPU as one uint8 tensor and
#   resizes each batch there (224x224 for AlexNet, VGG, NiN; 96x96 for GoogLeNet, ResNet,
#   DenseNet), so the GPU never waits for DataLoader workers or PIL.
# - `--precision auto` is bf16 autocast on CUDA (fp32 for regression); no host sync per step.
# - The profile is 32 recipes: each classic CNN twice (the book's settings and a tuned twin),
#   plus the basics, the speedrun, augmentation, fine-tuning and FCN. Training FLOPs (forward +
#   backward) of 5 epochs of 60,000 images: AlexNet 1.76 PFLOP, NiN 1.43, ResNet-18 0.60,
#   GoogLeNet 0.52, DenseNet 0.24, VGG-11/8 0.23; 4.8 PFLOP a set, 9.6 with the twins, about
#   100 s at an effective 100 TFLOP/s. Small networks are bound by kernel launches (GoogLeNet's
#   ~950 kernels a step), not FLOPs: ~150 s for all CNNs, 2-3 min for the other recipes; about
#   5-7.5 min in all.
# - As a guard the run stops after BUDGET_S seconds (default 480, leaving time for the report
#   under a 10-minute limit); the report is written from whatever finished, and running the
#   script again continues where it stopped (finished recipes are kept).
set -uo pipefail
# Paths given are the caller's: made absolute before moving to the checkout.
OUT=$(realpath -m "${1:-$(dirname "$0")/../runs/gpu-reproduce}")
RESULTS=${2:+$(realpath -m "$2")}
cd "$(dirname "$0")/.."

BUDGET_S=${BUDGET_S:-480}
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${D2LKIT_DATA:-}" ] && [ -d data/fashion-mnist ]; then
    export D2LKIT_DATA=$PWD/data/fashion-mnist
fi

"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu_reproduce.sh: no CUDA device; the book profile is meant for a GPU')" || exit 2
"$PY" -m d2lkit data info >/dev/null || {
    echo "gpu_reproduce.sh: Fashion-MNIST not found; copy it to data/fashion-mnist (see the top of this script)" >&2
    exit 2
}

started=$SECONDS
mkdir -p "$OUT"
# INT first (the run stops between recipes and keeps what finished), KILL 20 s later.
timeout -k 20 --signal=INT "$BUDGET_S" "$PY" -m d2lkit reproduce --profile book --out "$OUT" 2>&1 |
    tee -a "$OUT/reproduce.log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "gpu_reproduce.sh: stopped after ${BUDGET_S} s; run it again to finish (kept: finished recipes)"
fi
# The report from every recipe that finished, whatever happened above (none, not a stale one,
# if that fails).
rm -f "$OUT/REPORT.md"
"$PY" -m d2lkit reproduce --profile book --report-only --out "$OUT" >/dev/null 2>&1
echo
echo "== d2lkit reproduce --profile book: $((SECONDS - started)) s on $(
    "$PY" -c 'import torch; print(torch.cuda.get_device_name())') =="
# The results table and the tuned table of REPORT.md (everything up to the recipe notes).
[ -f "$OUT/REPORT.md" ] && sed -n '/^| Recipe /,/^## Recipes/p' "$OUT/REPORT.md" | sed '$d'

if [ -n "$RESULTS" ]; then
    mkdir -p "$RESULTS"
    for file in REPORT.md results.json summary.png machine.json reproduce.log; do
        [ -f "$OUT/$file" ] && cp "$OUT/$file" "$RESULTS/"
    done
    tar czf "$RESULTS/runs.tgz" -C "$OUT" --exclude='*.pt' --exclude=tensorboard .
fi
exit "$status"
