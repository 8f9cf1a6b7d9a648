#!/usr/bin/env python3
"""Is causal attention cheaper per FLOP when split into query chunks? (Llama-3-8B attention shape, one layer.)

Usage: python3 bench/attention_chunk_probe.py --out probe.json [--lengths 65536,131072] [--chunks 1,2,4,8]

A prefill in n chunks runs, per chunk, one non-causal block over the earlier keys and one causal block on the
diagonal, merged by log-sum-exp (what LongContext's FusedAttention does for L < S). Only 1/n of the FLOPs then go
through the causal kernel. This times the same ATen cuDNN kernels the add-on calls, with CUDA events.
"""
from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="65536,131072")
    ap.add_argument("--chunks", default="1,2,4,8")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import torch

    heads, kv_heads, dim = 32, 8, 128
    attn = torch.ops.aten._scaled_dot_product_cudnn_attention

    def block(q, k, v, causal):
        o, lse = attn(q, k, v, None, True, 0.0, causal, False)[:2]
        return o, lse.squeeze(-1) if lse.dim() == 4 else lse

    def merge(a, b):
        (oa, la), (ob, lb) = a, b
        la, lb = la.float(), lb.float()
        lse = torch.logaddexp(la, lb)
        wa = torch.exp(la - lse).nan_to_num(0.0).unsqueeze(-1)
        wb = torch.exp(lb - lse).nan_to_num(0.0).unsqueeze(-1)
        return (oa.float() * wa + ob.float() * wb).to(oa.dtype), lse

    def run(q, k, v, n):
        L = q.shape[2]
        c = L // n
        outs = []
        for i in range(n):
            qi = q[:, :, i * c:(i + 1) * c]
            diag = block(qi, k[:, :, i * c:(i + 1) * c], v[:, :, i * c:(i + 1) * c], True)
            if i == 0:
                outs.append(diag[0])
            else:
                head = block(qi, k[:, :, :i * c], v[:, :, :i * c], False)
                outs.append(merge(head, diag)[0])
        return outs

    results = []
    torch.manual_seed(0)
    for L in [int(x) for x in args.lengths.split(",")]:
        # [B, L, H, D] memory viewed as [B, H, L, D], as the model hands it over.
        q = torch.randn(1, L, heads, dim, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        k = torch.randn(1, L, kv_heads, dim, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        v = torch.randn(1, L, kv_heads, dim, device="cuda", dtype=torch.bfloat16).transpose(1, 2)
        ref = None
        for n in [int(x) for x in args.chunks.split(",")]:
            run(q, k, v, n)
            times = []
            for _ in range(args.runs):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                torch.cuda.synchronize()
                s.record()
                outs = run(q, k, v, n)
                e.record()
                torch.cuda.synchronize()
                times.append(s.elapsed_time(e))
            out = torch.cat(outs, dim=2)
            if ref is None:
                ref = out
            err = (out.float() - ref.float()).abs().max().item()
            ms = sorted(times)[len(times) // 2]
            flops = 2 * 2 * heads * dim * L * L / 2
            row = {"length": L, "chunks": n, "ms": round(ms, 2), "tflops": round(flops / ms / 1e9, 1), "max_abs_diff_vs_1": err}
            results.append(row)
            print(json.dumps(row), flush=True)
            del outs, out
        del q, k, v, ref
        torch.cuda.empty_cache()
    env = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "cudnn": torch.backends.cudnn.version()}
    with open(args.out, "w") as f:
        json.dump({"env": env, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
