#!/usr/bin/env bash
# The distributed runtime on this GPU box (docs/distributed.md): doctor's NCCL/topology/multicast lines, then
# `selftest dist` through real NCCL at world size 1 (compared with the CPU group), as 4 thread ranks staging CUDA
# tensors, over 2 CPU processes (TCP), and the watchdog (a rank killed mid-collective / a rank that stops posting,
# CPU ranks, 10 s timeout) with the launcher. On a box with several GPUs also NCCL over all of them.
# JSON and logs go to ${OUT:-.}/dist/. Run from a bundle or checkout (the add-on must be built: ABI 5):
#   bash bench/dist.sh
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-.}/dist"
mkdir -p "$out"
lc() { "$here/scripts/longctx.sh" "$@"; }
lc doctor --json > "$out/doctor.json"
lc doctor > "$out/doctor.txt" 2>&1
lc selftest dist --world-size 1 --device cuda --json > "$out/nccl-1.json" 2> "$out/nccl-1.log"; echo "nccl-1 exit $?"
lc launch --nproc-per-node 1 -- selftest dist --device cuda > "$out/launch-nccl-1.txt" 2>&1; echo "launch-nccl-1 exit $?"
lc selftest dist --world-size 4 --threads --device cuda --json > "$out/threads-4-cuda.json" 2> "$out/threads-4-cuda.log"; echo "threads-4-cuda exit $?"
lc selftest dist --world-size 2 --device cpu --json > "$out/tcp-2.json" 2> "$out/tcp-2.log"; echo "tcp-2 exit $?"
lc selftest dist --world-size 3 --device cpu --timeout 10 --simulate-failure exit > "$out/kill.txt" 2>&1; echo "kill exit $? (non-zero expected)"
lc selftest dist --world-size 2 --device cpu --timeout 10 --simulate-failure hang > "$out/hang.txt" 2>&1; echo "hang exit $? (non-zero expected)"
gpus="$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 1)"
if [[ "$gpus" -gt 1 ]]; then
  lc selftest dist --world-size "$gpus" --device cuda --json > "$out/nccl-$gpus.json" 2> "$out/nccl-$gpus.log"; echo "nccl-$gpus exit $?"
fi
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
d = json.load(open(os.path.join(out, "doctor.json")))
print(f"NCCL {d.get('nccl_version')} ({d.get('nccl_status')}); GPUs (driver) {d.get('driver_gpu_count')}; multicast: {'; '.join(d.get('multicast', []))}")
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    if path.endswith("doctor.json"): continue
    try:
        r = json.load(open(path))
    except Exception as e:
        print(f"{os.path.basename(path)}: no report ({e}); see the .log next to it"); continue
    print(f"{os.path.basename(path)}: {r['backend']} × {r['world_size']} on {r['device']}: {'PASS' if r['passed'] else 'FAIL'} "
          f"({sum(c['passed'] for c in r['checks'])}/{len(r['checks'])})")
    for c in r["checks"]:
        if not c["passed"]: print("  FAIL", c["name"], c.get("error"), c["detail"])
for name in ("kill.txt", "hang.txt"):
    lines = [l for l in open(os.path.join(out, name)) if "error:" in l]
    print(f"{name}: " + (lines[0].strip() if lines else "NO error line from a surviving rank"))
PY
