#!/usr/bin/env bash
# Trains relnet's `gpu` recipes of five models at once on one GPU, each for BUDGET minutes, and packs
# their results (results.tgz: results/<run>/<task>/gpu/), weights and logs into OUT. From the repository root:
#
#     BUDGET=7 OUT=/tmp/gpu-out benchmarks/gpu_reproduce.sh
#
# Runs: bAbI RN, RRN and MLRN (en-10k, joint), the Sudoku RRN and the Sort-of-CLEVR pixel RN. The
# five processes share the GPU, so each gets a share of it. Datasets are taken from data/<task> when
# generated there with seed 0 (or from BABI_TGZ, a .tgz of data/babi), else generated. INIT=1 starts
# each model from its committed weights, results/<task>/<model>.safetensors (a warm restart: fresh
# optimiser and schedule), so short GPU sessions can add up.
# Needs only python3 with torch and lightning; relnet itself is run from src/ (no install).
set -u
BUDGET=${BUDGET:-7}
OUT=${OUT:-/tmp/gpu-out}
THREADS=${THREADS:-3}
WORK=${WORK:-/tmp/relnet-gpu}
RUNS="babi-rn babi-rrn babi-mlrn sudoku-rrn sort-of-clevr-rn"
RUNS=${ONLY:-$RUNS}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK" data
start=$(date +%s)
stamp() { echo "[$(($(date +%s) - start)) s] $*"; }

if [ -n "${BABI_TGZ:-}" ] && [ ! -d data/babi ]; then
    tar xzf "$BABI_TGZ" -C data || exit 1
fi
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__,
      'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))" || exit 1
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 15 >"$WORK/gpu-use.csv" 2>&1 &
    monitor=$!
fi

reproduce() {  # name task model
    local init=()
    if [ -n "${INIT:-}" ] && [ -f "results/$2/$3.safetensors" ]; then
        init=(--init-weights "results/$2/$3.safetensors")
    fi
    OMP_NUM_THREADS=$THREADS python3 -m relnet reproduce "$2" --model "$3" --preset gpu --time-budget "$BUDGET" \
        "${init[@]}" --results "$WORK/results/$1" --runs "$WORK/runs" --no-progress >"$WORK/$1.log" 2>&1
    stamp "$1 finished with exit code $?" | tee -a "$WORK/status.txt"
}
pids=()
for run in $RUNS; do
    task=${run%-*}
    model=${run##*-}
    reproduce "$run" "$task" "$model" &
    pids+=($!)
done
wait "${pids[@]}"
[ -n "${monitor:-}" ] && kill "$monitor"

# Results (json, weights, tables) and the per-epoch logs; checkpoints stay behind.
tar czf "$OUT/results.tgz" -C "$WORK" results
(cd "$WORK" && find runs -name metrics.csv -print0 | tar czf "$OUT/logs.tgz" --null -T - ./*.log status.txt gpu-use.csv)
stamp "packed: $(ls -la "$OUT" | tail -n +2)"
cat "$WORK/status.txt"
for run in $RUNS; do tail -n 3 "$WORK/$run.log"; done
