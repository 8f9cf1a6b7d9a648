#!/usr/bin/env bash
# Context parallelism on one GPU (docs/context-parallel.md): the numerical check of the zigzag ring and the
# all-gather variant with N = 2, 3, 4, 8 ranks as threads on this GPU, then the ring's per-step kernel time summed
# over simulated ranks vs one fused call (Llama-3-8B attention shape) at 128K and 256K, with and without packed
# documents. Progress streams to stderr; JSON reports go to ${OUT:-.}/ring/. Run from a bundle or checkout:
#   bash bench/ring.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-.}/ring"
mkdir -p "$out"
lc() { "$here/scripts/longctx.sh" "$@"; }
lc selftest ring --device cuda --world-size 2,3,4,8 --json > "$out/selftest-ring.json"
for length in 128k 256k; do
  lc bench ring --device cuda --length "$length" --world-size 2,4,8 --json > "$out/bench-ring-$length.json"
done
lc bench ring --device cuda --length 128k --world-size 2,4,8 --document-length 16k --json > "$out/bench-ring-128k-docs16k.json"
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
st = json.load(open(os.path.join(out, "selftest-ring.json")))
print(f"selftest ring on {st['device']}: {'PASS' if st['passed'] else 'FAIL'} ({sum(c['passed'] for c in st['checks'])}/{len(st['checks'])})")
for c in st["checks"]:
    if not c["passed"]: print("  FAIL", c["name"], c["detail"])
for path in sorted(glob.glob(os.path.join(out, "bench-ring-*.json"))):
    r = json.load(open(path))
    docs = f", documents of {r['document_length']}" if r.get("document_length") else ""
    print(f"{os.path.basename(path)}: L={r['sequence_length']} {r['query_heads']}:{r['kv_heads']}×{r['head_dim']} {r['dtype']}{docs}")
    for m in r["measurements"]:
        print(f"  N={m['world_size']} {m['pass']:8s} single {m['single_ms']:8.2f} ms  ring Σ {m['ring_sum_ms']:8.2f} ms ratio {m['ring_ratio']:.3f}"
              f"  lockstep {m['ring_lockstep_ratio']:.3f}  all-gather ratio {m['all_gather_ratio']:.3f}  [{m['kernel']}]")
PY
