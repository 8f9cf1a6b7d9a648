#!/usr/bin/env bash
# The data-parallel trainer on this GPU box (docs/distributed.md, "Data-parallel training"): `bench train` as one plain
# process, then the same through `longctx launch --nproc-per-node 1` (real NCCL, a group of one) with --zero 0, 1
# and 2. The launched runs must train the same losses (same seeds; bf16 kernels may differ in the last bits) at
# nearly the same tok/s and peak memory. On a box with several GPUs also all of them (--zero 2; tok/s of all ranks).
# JSON lines and logs go to ${OUT:-.}/dp/. Run from a bundle or checkout (the add-on must be built):
#   bash bench/dp.sh
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-.}/dp"
mkdir -p "$out"
lc() { "$here/scripts/longctx.sh" "$@"; }
args=(bench train --preset llama-3.2-1b --lengths 16k --steps 3 --warmup 1 --device cuda)
lc "${args[@]}" --out "$out/plain.jsonl" > "$out/plain.txt" 2>&1; echo "plain exit $?"
for z in 0 1 2; do
  lc launch --nproc-per-node 1 -- "${args[@]}" --zero "$z" --out "$out/nccl-1-zero$z.jsonl" > "$out/nccl-1-zero$z.txt" 2>&1
  echo "nccl-1 zero $z exit $?"
done
gpus="$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 1)"
if [[ "$gpus" -gt 1 ]]; then
  lc launch --nproc-per-node "$gpus" -- "${args[@]}" --zero 2 --out "$out/nccl-$gpus-zero2.jsonl" > "$out/nccl-$gpus-zero2.txt" 2>&1
  echo "nccl-$gpus zero 2 exit $?"
fi
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
rows = {}
for path in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
    lines = [json.loads(l) for l in open(path) if l.strip()]
    s = next((l for l in reversed(lines) if l.get("record") == "summary"), None)
    if s is None:
        print(f"{os.path.basename(path)}: no summary; see the .txt next to it"); continue
    for m in s["lengths"]:
        rows[os.path.basename(path)[:-6]] = m
        print(f"{os.path.basename(path)[:-6]:16} {s.get('backend', 'single'):6} x{s.get('world_size', 1)} zero {s.get('zero', 0)}: "
              f"{m['length']} tokens  {m['tokens_per_second']:.0f} tok/s  peak {m['peak_bytes'] / 2**30:.1f} GiB  losses {[round(x, 4) for x in m['losses']]}"
              + (f"  {m['error']}" if m.get("error") else ""))
if "plain" in rows:
    base = rows["plain"]["losses"]
    for name, m in rows.items():
        if not name.startswith("nccl-1-") or not m["losses"]: continue
        worst = max(abs(a - b) for a, b in zip(base, m["losses"]))
        print(f"{name}: max |loss - plain| = {worst:.2e} ({'OK' if worst < 2e-2 else 'DIFFERS'})")
PY
