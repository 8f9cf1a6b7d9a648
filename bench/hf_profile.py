#!/usr/bin/env python3
"""Where a transformers prefill spends GPU time (Llama-3-8B shape, random bf16 weights): one profiled forward.

Usage: python3 bench/hf_profile.py --out prof.json [--length 8192] [--layers N]

Runs one warm-up and one profiled forward (use_cache=False, logits of the last token), then sums CUDA kernel time
by category (GEMM, attention, normalisation/element-wise, other) and lists the top kernels. It tells which fusions
can pay: our engine dispatches the same ATen kernels for the same ops.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hc  # noqa: E402


def category(name: str) -> str:
    n = name.lower()
    if any(k in n for k in ("gemm", "cutlass", "sm90_xmma", "nvjet", "cublas")):
        return "gemm"
    if any(k in n for k in ("flash", "fmha", "cudnn", "attention", "sdpa")):
        return "attention"
    if any(k in n for k in ("elementwise", "vectorized", "reduce", "norm", "cat", "copy", "index", "softmax")):
        return "elementwise"
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--length", type=int, default=8192)
    ap.add_argument("--layers", type=int, default=None)
    args = ap.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile

    shape = dict(hc.LLAMA3_8B)
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    cfg = hc.llama_config(shape, "sdpa")
    model = hc.build_random_model(cfg, torch.bfloat16, "cuda", 1234, "sdpa")
    ids = torch.randint(0, shape["vocab_size"], (1, args.length), device="cuda")
    with torch.inference_mode():
        model(input_ids=ids, use_cache=False, logits_to_keep=1)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
            torch.cuda.synchronize()
    kernels = {}
    for e in prof.key_averages():
        t = getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)
        if t > 0:
            kernels[e.key] = kernels.get(e.key, 0.0) + t / 1000.0
    # key_averages mixes ATen ops and kernels; keep the kernel rows (no "aten::" prefix).
    kernels = {k: v for k, v in kernels.items() if not k.startswith("aten::")}
    total = sum(kernels.values())
    cats = {}
    for k, v in kernels.items():
        cats[category(k)] = cats.get(category(k), 0.0) + v
    top = sorted(kernels.items(), key=lambda kv: -kv[1])[:25]
    result = {"length": args.length, "env": hc.env_info(), "total_kernel_ms": round(total, 2),
              "by_category_ms": {k: round(v, 2) for k, v in sorted(cats.items(), key=lambda kv: -kv[1])},
              "top_kernels_ms": [[k[:140], round(v, 2)] for k, v in top]}
    hc.write_json(args.out, result)
    print(f"L={args.length} total kernel time {total:.1f} ms")
    for k, v in result["by_category_ms"].items():
        print(f"  {k:12s} {v:9.1f} ms  {100 * v / total:5.1f}%")
    for k, v in result["top_kernels_ms"]:
        print(f"  {v:9.2f} ms  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
