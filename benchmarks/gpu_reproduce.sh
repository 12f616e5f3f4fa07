#!/usr/bin/env bash
# Trains relnet's `gpu` recipes of several models at once on one GPU, each for BUDGET minutes, and packs
# their results into OUT: results.tgz (results/<run>/<task>/gpu/: json, weights, table) and logs.tgz
# (per-epoch metrics, each run's output, GPU use). For example, on a machine with a GPU:
#
#     BUDGET=7 OUT=/tmp/gpu-out benchmarks/gpu_reproduce.sh
#     ONLY="sort-of-clevr-rn" BUDGET=10 benchmarks/gpu_reproduce.sh     # one run, the whole GPU
#
# Runs (RUNS, or ONLY): bAbI RN, RRN and MLRN (en-10k, joint), the Sudoku RRN and the Sort-of-CLEVR
# pixel RN, as separate processes sharing the GPU. Datasets come from data/<task> when relnet generated
# them there with seed 0 (BABI_TGZ: a .tgz of data/babi to unpack first), else they are generated once
# per task before its runs start. INIT=1 starts each model from its committed weights,
# results/<task>/gpu/<model>.safetensors (a warm restart: fresh optimiser and schedule), so short GPU
# sessions can add up. BENCH=1 then times `relnet bench rn` and `relnet bench rrn` on the idle GPU
# (bench-rn.json, bench-rrn.json in OUT). Exits non-zero when any run fails.
# Needs python3 with relnet's dependencies (torch, lightning, numpy, pillow, safetensors, matplotlib,
# tqdm, tensorboard); relnet itself runs from src/, not installed.
set -u
cd "$(dirname "$0")/.." || exit 1
BUDGET=${BUDGET:-7}
OUT=${OUT:-/tmp/gpu-out}
THREADS=${THREADS:-3}
WORK=${WORK:-/tmp/relnet-gpu}
RUNS=${ONLY:-babi-rn babi-rrn babi-mlrn sudoku-rrn sort-of-clevr-rn}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
rm -rf "$WORK"
mkdir -p "$OUT" "$WORK" data
start=$(date +%s)
stamp() { echo "[$(($(date +%s) - start)) s] $*"; }

if [ -n "${BABI_TGZ:-}" ] && [ ! -d data/babi ]; then
    tar xzf "$BABI_TGZ" -C data || exit 1
fi
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__,
      'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0))" || exit 1
monitor=
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 15 >"$WORK/gpu-use.csv" 2>&1 &
    monitor=$!
fi

reproduce() {  # run-name task model
    local init=() code
    if [ -n "${INIT:-}" ] && [ -f "results/$2/gpu/$3.safetensors" ]; then
        init=(--init-weights "results/$2/gpu/$3.safetensors")
    fi
    OMP_NUM_THREADS=$THREADS python3 -m relnet reproduce "$2" --model "$3" --preset gpu --time-budget "$BUDGET" \
        "${init[@]}" --results "$WORK/results/$1" --runs "$WORK/runs" --no-progress >"$WORK/$1.log" 2>&1
    code=$?
    stamp "$1 finished with exit code $code" | tee -a "$WORK/status.txt"
}

# One chain per task: its data (generated once, so its runs never race to write it), then its runs.
pids=()
for task in $(for run in $RUNS; do echo "${run%-*}"; done | sort -u); do
    (
        python3 -c "import sys; from pathlib import Path; from relnet.training.reproduce import ensure_dataset
ensure_dataset(sys.argv[1], Path('data') / sys.argv[1], seed=0)" "$task" >"$WORK/data-$task.log" 2>&1 ||
            { stamp "$task data failed, see data-$task.log" | tee -a "$WORK/status.txt"; exit 1; }
        for run in $RUNS; do
            [ "${run%-*}" = "$task" ] && reproduce "$run" "$task" "${run##*-}" &
        done
        wait
    ) &
    pids+=($!)
done
wait "${pids[@]}"
[ -n "$monitor" ] && kill "$monitor"

if [ -n "${BENCH:-}" ]; then  # after the trainings, so the benchmarks have the GPU to themselves
    for what in rn rrn; do
        python3 -m relnet bench "$what" --json >"$OUT/bench-$what.json" 2>"$WORK/bench-$what.log" ||
            stamp "bench $what failed, see bench-$what.log" | tee -a "$WORK/status.txt"
    done
fi

# Results (json, weights, tables) and the per-epoch logs; checkpoints stay behind.
[ -d "$WORK/results" ] && tar czf "$OUT/results.tgz" -C "$WORK" results
(
    cd "$WORK" || exit 1
    { find runs -name metrics.csv 2>/dev/null; ls ./*.log status.txt gpu-use.csv 2>/dev/null; } | tar czf "$OUT/logs.tgz" -T -
)
stamp "packed: $(ls "$OUT")"
for run in $RUNS; do tail -n 3 "$WORK/$run.log" 2>/dev/null; done
finished=$(grep -c "finished with exit code 0$" "$WORK/status.txt" 2>/dev/null)
cat "$WORK/status.txt" 2>/dev/null
if [ "${finished:-0}" -ne "$(echo "$RUNS" | wc -w)" ] || grep -q "failed" "$WORK/status.txt" 2>/dev/null; then
    echo "some runs failed"
    exit 1
fi
