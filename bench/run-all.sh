#!/usr/bin/env bash
# The benchmark table (docs/results/benchmarks.md), one part per GPU command (each well inside 10 minutes), every
# LongContext number measured in the same call as the strongest transformers peer on the box.
#
#   bash bench/run-all.sh part1            # on the GPU box: needs .bundle/longctx.tar.xz (bash scripts/bundle.sh here)
#   bash bench/run-all.sh table DIR...     # here or there: JSON lines + HF JSON of the parts → Markdown table
#   bash bench/run-all.sh dry-run          # CPU, tiny shapes: every part's LongContext commands, then the table
#
# Parts (results go to $OUT, default runs/bench; each item is written as it finishes, progress goes to stderr):
#   part1  prefill 8K–256K, Llama-3-8B shape: ours vs transformers (SDPA, logits of the last token)
#   part2  decode at 32K/128K: ours (graphs) vs transformers eager and StaticCache + torch.compile; FP8 vs bf16 KV
#   part3  training 16K/32K/64K, Llama-3.2-1B shape: ours (auto checkpointing) vs transformers' best config that fits
#   part4  longest trainable sequence: ours 512K (all layers checkpointed + offload) vs transformers' probe
#   part5  1M tokens on one GPU: 8B shape, FP8 KV cache, 64K chunks, then decode (prefill progress per chunk)
#   part6  transformers at 1M (StaticCache allocation) and 512K; server TTFT ours vs transformers prefill at 32K/128K
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
part="${1:-}"
OUT="${OUT:-$repo/runs/bench}"
mkdir -p "$OUT"
PEAK_TFLOPS="${PEAK_TFLOPS:-989}"       # dense bf16 datasheet peak (H100/H200 SXM)
BANDWIDTH_GBS="${BANDWIDTH_GBS:-4800}"  # H200 HBM3e; 3350 on an H100 SXM
started=$(date +%s)

log() { echo "[run-all $part $(( $(date +%s) - started )) s] $*" >&2; }

# Runs a command with a deadline (seconds), so one slow step cannot eat the whole part; records the exit code.
step() {
  local name="$1" limit="$2"; shift 2
  log "$name (limit ${limit}s): $*"
  timeout --signal=INT --kill-after=10 "$limit" "$@" 2> >(tee -a "$OUT/$name.log" >&2)
  local rc=$?
  echo "{\"record\":\"step\",\"part\":\"$part\",\"name\":\"$name\",\"exit_code\":$rc,\"seconds\":$(( $(date +%s) - started ))}" >> "$OUT/steps.jsonl"
  [[ $rc -eq 124 ]] && log "$name: cut at its ${limit}s limit (finished items are in $OUT)"
  return 0
}

setup_gpu() {
  # shellcheck source=/dev/null
  source "$repo/scripts/gpu-setup.sh" >&2
  python3 - <<'PY' > "$OUT/card.json" 2>/dev/null || true
import json, torch
p = torch.cuda.get_device_properties(0)
print(json.dumps({"gpu": p.name, "memory_gib": round(p.total_memory / 2**30, 1), "torch": torch.__version__}))
PY
}

LC="$repo/scripts/longctx-bundle.sh"     # what gpu-setup.sh's `lc` runs (a script, so `timeout` can run it)
HF_PREFILL="$repo/bench/hf_prefill.py"
HF_TRAIN="$repo/bench/hf_train.py"

case "$part" in
  part1)
    setup_gpu
    step part1_ours_prefill 200 "$LC" bench prefill --preset llama-3-8b --lengths 8k,32k,64k,128k --runs 1 --warmup-runs 1 \
      --json --out "$OUT/part1_ours_prefill.jsonl"
    step part1_ours_prefill_256k 120 "$LC" bench prefill --preset llama-3-8b --lengths 256k --prefill-chunk 65536 --runs 1 --warmup-runs 0 \
      --json --out "$OUT/part1_ours_prefill_256k.jsonl"
    step part1_hf_prefill 280 python3 "$HF_PREFILL" --lengths 8192,32768,65536,131072,262144 --decode-contexts "" --runs 1 --warmup 1 --out "$OUT/part1_hf_prefill.json"
    ;;
  part2)
    setup_gpu
    step part2_ours_bf16 150 "$LC" bench prefill --preset llama-3-8b --lengths 32k,128k --runs 1 --warmup-runs 0 --decode-contexts 32k,128k --decode-steps 128 \
      --decode-modes graphs --bandwidth-gbs "$BANDWIDTH_GBS" --json --out "$OUT/part2_ours_bf16.jsonl"
    step part2_ours_fp8 150 "$LC" bench prefill --preset llama-3-8b --lengths 32k,128k --runs 1 --warmup-runs 0 --decode-contexts 32k,128k --decode-steps 64 \
      --decode-modes graphs --kv-cache fp8 --bandwidth-gbs "$BANDWIDTH_GBS" --json --out "$OUT/part2_ours_fp8.jsonl"
    step part2_hf_decode 280 python3 "$HF_PREFILL" --lengths "" --decode-contexts 32768,131072 --decode-steps 64 --decode-mode both --out "$OUT/part2_hf_decode.json"
    ;;
  part3)
    setup_gpu
    step part3_ours_train 240 "$LC" bench train --preset llama-3.2-1b --lengths 16k,32k,64k --steps 3 --warmup 1 --checkpointing auto --peak-tflops "$PEAK_TFLOPS" \
      --json --out "$OUT/part3_ours_train.jsonl"
    step part3_hf_train 300 python3 "$HF_TRAIN" --lengths 16384,32768,65536 --steps 3 --warmup 1 --checkpointing auto --out "$OUT/part3_hf_train.json"
    ;;
  part4)
    setup_gpu
    step part4_ours_longest 400 "$LC" bench train --preset llama-3.2-1b --lengths 512k --steps 1 --warmup 0 --checkpointing all --offload --peak-tflops "$PEAK_TFLOPS" \
      --json --out "$OUT/part4_ours_longest.jsonl"
    step part4_hf_longest 150 python3 "$HF_TRAIN" --lengths 65536 --steps 1 --warmup 0 --checkpointing on --probe --probe-max 524288 --out "$OUT/part4_hf_longest.json"
    ;;
  part5)
    setup_gpu
    # 1,048,576 tokens ≈ 3.0e17 FLOP ≈ 520 s at 580 TFLOP/s: one chunked prefill, progress per 64K chunk, then decode.
    step part5_ours_1m 575 "$LC" bench prefill --preset llama-3-8b --lengths 1m --prefill-chunk 65536 --kv-cache fp8 --decode-after 16 \
      --decode-modes graphs --bandwidth-gbs "$BANDWIDTH_GBS" --json --out "$OUT/part5_ours_1m.jsonl"
    ;;
  part6)
    setup_gpu
    step part6_hf_1m 330 python3 "$HF_PREFILL" --static-probe 1048576 --lengths 32768,131072,524288 --decode-contexts "" --runs 1 --warmup 0 --out "$OUT/part6_hf_large.json"
    step part6_ours_serve 200 "$LC" bench serve --preset llama-3-8b --tokenizer "$repo/tests/fixtures/hf/tokenizer" --contexts 32k,128k --max-tokens 32 \
      --json --out "$OUT/part6_ours_serve.jsonl"
    ;;
  table)
    shift
    python3 "$repo/bench/results_table.py" --peak-tflops "$PEAK_TFLOPS" "${@:-$OUT}"
    ;;
  dry-run)
    # Every LongContext command of the parts at tiny shapes on the CPU (no GPU, no transformers), then the table tool.
    export OUT="${OUT}/dry-run"; mkdir -p "$OUT"
    APP=(dotnet "$repo/src/LongContext.Cli/bin/Release/net10.0/longctx.dll")
    step part1_ours_prefill 120 "${APP[@]}" bench prefill --preset tiny --device cpu --lengths 64,128 --prefill-chunk 64 --runs 1 --json --out "$OUT/part1_ours_prefill.jsonl"
    step part2_ours_bf16 120 "${APP[@]}" bench prefill --preset tiny --device cpu --lengths 64 --runs 1 --warmup-runs 0 --decode-contexts 64 --decode-steps 4 --decode-modes eager --json --out "$OUT/part2_ours_bf16.jsonl"
    step part2_ours_fp8 120 "${APP[@]}" bench prefill --preset tiny --device cpu --lengths 64 --runs 1 --warmup-runs 0 --decode-contexts 64 --decode-steps 4 --decode-modes eager --kv-cache fp8 --json --out "$OUT/part2_ours_fp8.jsonl"
    step part3_ours_train 120 "${APP[@]}" bench train --preset tiny --device cpu --lengths 64,128 --steps 1 --warmup 0 --json --out "$OUT/part3_ours_train.jsonl"
    step part4_ours_longest 120 "${APP[@]}" bench train --preset tiny --device cpu --lengths 128 --steps 1 --warmup 0 --checkpointing all --json --out "$OUT/part4_ours_longest.jsonl"
    step part5_ours_1m 120 "${APP[@]}" bench prefill --preset tiny --device cpu --lengths 256 --prefill-chunk 64 --kv-cache fp8 --decode-after 4 --json --out "$OUT/part5_ours_1m.jsonl"
    step part6_ours_serve 120 "${APP[@]}" bench serve --preset tiny --device cpu --tokenizer "$repo/tests/fixtures/hf/tokenizer" --contexts 128 --max-tokens 4 --json --out "$OUT/part6_ours_serve.jsonl"
    python3 "$repo/bench/results_table.py" --peak-tflops "$PEAK_TFLOPS" "$OUT"
    ;;
  *)
    sed -n 2,20p "$0" >&2
    exit 2
    ;;
esac
log "done; results in $OUT"
