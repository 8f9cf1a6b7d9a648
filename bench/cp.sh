#!/usr/bin/env bash
# The context-parallel trainer on this GPU box (docs/context-parallel.md, "Training across GPUs"): `bench train` as
# one plain process, then each 16K sequence sharded over 2 ranks. On one GPU the two ranks share the device through
# the TCP group (NCCL refuses two ranks on one GPU; transfers are staged through host memory, so tok/s says nothing
# about NVLink): this runs the whole multi-process path — sharding, ring attention through the fused kernels in
# bf16, gradient sums — in separate processes. With several GPUs also NCCL across all of them at cp = GPUs, and at
# dp 2 × cp GPUs/2 (tok/s only: two sequences per step). The cp-only runs must train the plain run's losses (same
# seeds; bf16, so within 2e-2).
# JSON lines and logs go to ${OUT:-.}/cp/. Run from a bundle or checkout (the add-on must be built):
#   bash bench/cp.sh
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-.}/cp"
mkdir -p "$out"
lc() { "$here/scripts/longctx.sh" "$@"; }
args=(bench train --preset llama-3.2-1b --lengths 16k --steps 3 --warmup 0 --device cuda)
lc "${args[@]}" --out "$out/plain.jsonl" > "$out/plain.txt" 2>&1; echo "plain exit $?"
for attention in ring allgather; do
  LONGCTX_DIST_BACKEND=tcp lc launch --nproc-per-node 2 --gpus none -- "${args[@]}" --context-parallel 2 --cp-attention "$attention" \
    --out "$out/tcp-cp2-$attention.jsonl" > "$out/tcp-cp2-$attention.txt" 2>&1
  echo "tcp cp 2 ($attention, one GPU) exit $?"
done
gpus="$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 1)"
if [[ "$gpus" -gt 1 ]]; then
  lc launch --nproc-per-node "$gpus" -- "${args[@]}" --context-parallel "$gpus" --out "$out/nccl-cp$gpus.jsonl" > "$out/nccl-cp$gpus.txt" 2>&1
  echo "nccl cp $gpus exit $?"
  if [[ "$gpus" -ge 4 ]]; then
    half=$((gpus / 2))
    lc launch --nproc-per-node "$gpus" -- "${args[@]}" --context-parallel "$half" --zero 1 --out "$out/nccl-dp2-cp$half.jsonl" > "$out/nccl-dp2-cp$half.txt" 2>&1
    echo "nccl dp 2 x cp $half exit $?"
  fi
fi
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
    name = os.path.basename(path)[:-6]
    lines = [json.loads(l) for l in open(path) if l.strip()]
    s = next((l for l in reversed(lines) if l.get("record") == "summary"), None)
    if s is None:
        print(f"{name}: no summary; see {name}.txt"); continue
    for m in s["lengths"]:
        rows[name] = m
        print(f"{name:20} {s.get('backend', 'single'):6} x{s.get('world_size', 1)} cp {s.get('context_parallel', 1)} {s.get('attention')}: "
              f"{m['length']} tokens  {m['tokens_per_second']:.0f} tok/s  peak {m['peak_bytes'] / 2**30:.1f} GiB  losses {[round(x, 4) for x in m['losses']]}"
              + (f"  {m['error']}" if m.get("error") else ""))
if "plain" in rows:
    base = rows["plain"]["losses"]
    for name, m in rows.items():
        # dp 2 trains two sequences per step (another global batch): its losses are not the plain run's.
        if name == "plain" or "dp2" in name or not m["losses"]: continue
        worst = max(abs(a - b) / abs(b) for a, b in zip(m["losses"], base))
        print(f"{name}: max |loss - plain| / plain = {worst:.2e} ({'OK' if worst < 2e-2 else 'DIFFERS'})")
PY
