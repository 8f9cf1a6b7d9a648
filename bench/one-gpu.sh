#!/usr/bin/env bash
# The one-GPU checks of the structure, distributed-runtime and context-parallel work in ONE device command
# (docs/results/one-gpu.md): selftest on CUDA (fused document masks, FP8 KV kernels, ...), the NCCL group of one
# (selftest dist, and the trainer through `longctx launch --nproc-per-node 1`), context-parallel attention with
# simulated ranks (numerics and per-block kernel time vs one fused call), and the regression numbers beside
# transformers in the same call: 1B-shape training at 16K/32K and 8B-shape prefill at 32K/128K.
# Every step has its own time limit and writes as it goes; everything ends up in ${OUT}/one-gpu.tgz + summary.txt.
#   bash bench/one-gpu.sh            (on the GPU box, with .bundle/longctx.tar.xz from scripts/bundle.sh)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$repo/runs}"
work="${WORK:-/tmp/one-gpu}"
mkdir -p "$work" "$OUT"
started=$(date +%s)
log() { echo "[one-gpu $(( $(date +%s) - started )) s] $*" | tee -a "$work/steps.log" >&2; }
pack() { tar czf "$OUT/one-gpu.tgz" -C "$(dirname "$work")" "$(basename "$work")" 2>/dev/null; }
step() {
  local name="$1" limit="$2"; shift 2
  log "$name (limit ${limit}s)"
  timeout --signal=INT --kill-after=10 "$limit" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local rc=$?
  log "$name: exit $rc"
  echo "{\"step\":\"$name\",\"exit_code\":$rc,\"at_s\":$(( $(date +%s) - started ))}" >> "$work/steps.jsonl"
  pack
}
# shellcheck source=/dev/null
source "$repo/scripts/gpu-setup.sh" >&2
LC="$repo/scripts/longctx-bundle.sh"
log "setup done"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$work/card.csv" 2>&1
step selftest 150 "$LC" selftest --device cuda --json
step dist-nccl-1 60 "$LC" selftest dist --world-size 1 --device cuda --json
step launch-dist-nccl-1 60 "$LC" launch --nproc-per-node 1 -- selftest dist --device cuda
step ring-selftest 120 "$LC" selftest ring --device cuda --world-size 2,8 --json
step ring-bench 90 "$LC" bench ring --device cuda --length 128k --world-size 2,8 --json
step ours-train 150 "$LC" bench train --preset llama-3.2-1b --lengths 16k,32k --steps 3 --warmup 1 --checkpointing auto --peak-tflops 989 --json --out "$work/ours-train.jsonl"
step launch-train-nccl-1 90 "$LC" launch --nproc-per-node 1 -- bench train --preset llama-3.2-1b --lengths 16k --steps 3 --warmup 1 --device cuda --zero 1 --json --out "$work/launch-train.jsonl"
step hf-train 150 python3 "$repo/bench/hf_train.py" --lengths 16384,32768 --steps 3 --warmup 1 --checkpointing auto --out "$work/hf-train.json"
step ours-prefill 100 "$LC" bench prefill --preset llama-3-8b --lengths 32k,128k --runs 1 --warmup-runs 1 --json --out "$work/ours-prefill.jsonl"
step hf-prefill 150 python3 "$repo/bench/hf_prefill.py" --lengths 32768,131072 --decode-contexts "" --runs 1 --warmup 1 --out "$work/hf-prefill.json"
python3 - "$work" > "$work/summary.txt" 2>&1 <<'PY'
import json, sys, os, glob
w = sys.argv[1]
def load(name):
    try: return json.load(open(os.path.join(w, name)))
    except Exception as e: return None
def last_json(name):
    try:
        lines = [l for l in open(os.path.join(w, name)) if l.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except Exception: return None
print(open(os.path.join(w, "card.csv")).read().strip())
for l in open(os.path.join(w, "steps.jsonl")): print(l.strip())
for name in ("selftest.out", "dist-nccl-1.out", "ring-selftest.out"):
    r = last_json(name)
    if r is None: print(f"{name}: no JSON"); continue
    checks = r.get("checks", [])
    print(f"{name}: passed={r.get('passed')} {sum(1 for c in checks if c.get('passed'))}/{len(checks)}")
    for c in checks:
        if not c.get("passed"): print("  FAIL", c.get("name"), c.get("error"), c.get("detail"))
for name in ("ours-train.jsonl", "launch-train.jsonl", "ours-prefill.jsonl"):
    for l in open(os.path.join(w, name)) if os.path.exists(os.path.join(w, name)) else []:
        print(name, l.strip()[:400])
for name in ("hf-train.json", "hf-prefill.json", ):
    print(name, json.dumps(load(name))[:1200])
print("ring-bench", open(os.path.join(w, "ring-bench.out")).read()[:2000] if os.path.exists(os.path.join(w, "ring-bench.out")) else "none")
PY
cp "$work/summary.txt" "$OUT/summary.txt"
pack
log "done"
