#!/usr/bin/env bash
# One GPU, one script, under 8 minutes: `d2lkit bench --quick`, the speedrun (3 seeds) and the
# book profile of ResNet-18 (Adam 1e-3, batch 256, resize 96, 5 epochs), then one table.
#
#   bash benchmarks/gpu_check.sh [OUT]        (default runs/gpu_check-DATE)
#
# Each part has its own time limit (30 + 190 + 90 + 150 s = 7.7 min at most); a part that fails or
# runs out of time is reported as missing in the table, with its log in OUT, and the others still
# run. The first part runs the test suite's GPU-only tests (pytest -m gpu).
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-runs/gpu_check-$(date +%Y%m%d-%H%M%S)}
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

"$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu_check: no CUDA device')" || exit 2
"$PY" -m d2lkit data info > /dev/null || { echo "gpu_check: Fashion-MNIST not found (d2lkit data info)"; exit 2; }
mkdir -p "$OUT"
echo "gpu_check: writing to $OUT"

part() {  # part NAME SECONDS COMMAND...: run one part with a time limit, its output in OUT/NAME.log
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local status=$?
    echo "gpu_check: $name exited $status after $((SECONDS - start)) s (limit $limit s)"
}

part gpu_tests 30 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests
part bench 190 "$PY" -m d2lkit bench --quick --device cuda --out "$OUT/bench"
part speedrun 90 "$PY" -m d2lkit speedrun --seeds 3 --device cuda --out "$OUT/speedrun"
part resnet18 150 "$PY" -m d2lkit train resnet18 --epochs 5 --batch-size 256 --optimizer adam \
    --lr 0.001 --resize 96 --device cuda --no-progress --out "$OUT/resnet18"

"$PY" benchmarks/gpu_summary.py "$OUT"
