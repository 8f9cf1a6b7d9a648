#!/usr/bin/env python3
"""HF transformers training baseline: one full fine-tune step of a Llama-3.2-1B-shape model (random weights).

Usage:
  python3 bench/hf_train.py --out docs/results/hf_train.json [--lengths 16384,32768] [--steps 5] [--warmup 2] \
      [--probe] [--probe-max 262144] [--no-checkpointing | --checkpointing auto] [--attn sdpa] [--layers N]

Setup: bf16 weights (no fp32 master copy), torch.optim.AdamW(fused=True, lr 1e-5), gradient checkpointing
(use_reentrant=False), batch 1, labels = input ids (HF's causal LM loss over the full vocabulary). A step is
forward + backward + optimizer.step() + zero_grad(set_to_none=True), timed with CUDA events. --warmup untimed steps,
then the median of --steps timed steps; tokens/s = length / median step time. Peak memory is
torch.cuda.max_memory_allocated() during the length's steps. OOM or an error at one length is recorded and the next
length runs. --probe doubles the length after the last listed one until OOM (or --probe-max), one timed step each.
--checkpointing auto gives each length transformers' best configuration that fits: without gradient checkpointing
(faster) first, and only after an OOM with it; each run records which one it used.
JSON goes to --out; a table is printed last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hc  # noqa: E402


def train_steps(model, opt, vocab: int, length: int, steps: int, warmup: int, seed: int) -> dict:
    import torch

    res: dict = {"length": length}
    g = torch.Generator(device="cuda").manual_seed(seed + length)
    ids = torch.randint(0, vocab, (1, length), device="cuda", generator=g)
    torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for i in range(warmup + steps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        start.record()
        out = model(input_ids=ids, labels=ids, use_cache=False)
        loss = out.loss
        del out
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        end.record()
        torch.cuda.synchronize()
        losses.append(float(loss.detach().float()))
        del loss
        if i >= warmup:
            times.append(float(start.elapsed_time(end)))
    med = hc.median(times)
    res.update({
        "status": "ok",
        "step_ms": [round(t, 1) for t in times],
        "median_step_ms": round(med, 1),
        "tokens_per_s": round(length / (med / 1000.0), 1),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "losses": [round(x, 4) for x in losses],
        "loss_finite": all(x == x and abs(x) != float("inf") for x in losses),
    })
    return res


def set_checkpointing(model, on: bool) -> None:
    if on:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_disable()


def run_length(model, opt, vocab, L, steps, warmup, seed, auto: bool = False) -> dict:
    if auto:
        # transformers' best configuration that fits: no checkpointing first, checkpointing after an OOM.
        set_checkpointing(model, False)
        r = run_length(model, opt, vocab, L, steps, warmup, seed)
        r["gradient_checkpointing"] = False
        if r["status"] != "OOM":
            return r
        set_checkpointing(model, True)
        r2 = run_length(model, opt, vocab, L, steps, warmup, seed)
        r2["gradient_checkpointing"] = True
        r2["without_checkpointing"] = r.get("error", "OOM")
        return r2
    try:
        r = train_steps(model, opt, vocab, L, steps, warmup, seed)
    except Exception as e:  # noqa: BLE001
        r = {"length": L, "status": "OOM" if hc.is_oom(e) else "error", "error": hc.error_text(e)}
        if r["status"] == "error":
            hc.print_trace(e)
        try:
            opt.zero_grad(set_to_none=True)
        except Exception:  # noqa: BLE001
            pass
    hc.free_cuda()
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="16384,32768")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--probe", action="store_true", help="after the listed lengths, double until OOM")
    ap.add_argument("--probe-max", type=int, default=262144)
    ap.add_argument("--no-checkpointing", action="store_true")
    ap.add_argument("--checkpointing", choices=["on", "off", "auto"], default=None,
                    help="on (default), off (= --no-checkpointing), or auto: off where it fits, on after an OOM")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers (smoke tests)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    result: dict = {"benchmark": "hf_train", "model_shape": "Llama-3.2-1B (random weights)",
                    "precision": "bf16 weights, grads and AdamW states (no fp32 master weights)", "batch": 1,
                    "optimizer": "torch.optim.AdamW(fused=True)", "env": hc.env_info(), "settings": vars(args),
                    "runs": [], "errors": []}
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("CUDA is not available")
        torch.manual_seed(args.seed)
        shape = dict(hc.LLAMA32_1B)
        if args.layers:
            shape["num_hidden_layers"] = args.layers
        cfg = hc.llama_config(shape, args.attn)
        cfg.use_cache = False
        t0 = time.perf_counter()
        model = hc.build_random_model(cfg, torch.bfloat16, "cuda", args.seed, args.attn)
        result["attn_implementation"] = hc.set_attn(model, args.attn)
        result["tied_embeddings"] = model.get_output_embeddings().weight is model.get_input_embeddings().weight
        model.train()
        mode = args.checkpointing or ("off" if args.no_checkpointing else "on")
        result["checkpointing_mode"] = mode
        if mode == "on":
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        result["gradient_checkpointing"] = bool(getattr(model, "is_gradient_checkpointing", not args.no_checkpointing))
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, fused=True)
        result["build_s"] = round(time.perf_counter() - t0, 1)
        result["params_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
        vocab = shape["vocab_size"]
    except Exception as e:  # noqa: BLE001
        hc.print_trace(e)
        result["errors"].append({"part": "setup", "error": hc.error_text(e)})
        hc.write_json(args.out, result)
        print(f"setup failed: {hc.error_text(e)}")
        return 1

    lengths = hc.int_list(args.lengths)
    for L in lengths:
        print(f"train L={L} ...", flush=True)
        r = run_length(model, opt, vocab, L, args.steps, args.warmup, args.seed, auto=mode == "auto")
        result["runs"].append(r)
        hc.write_json(args.out, result)
        print(f"  -> {r['status']} {r.get('tokens_per_s', '')} tok/s", flush=True)
    if args.probe and lengths:
        L = lengths[-1] * 2
        while L <= args.probe_max:
            print(f"probe L={L} ...", flush=True)
            r = run_length(model, opt, vocab, L, 1, 0, args.seed, auto=mode == "auto")
            r["probe"] = True
            result["runs"].append(r)
            hc.write_json(args.out, result)
            print(f"  -> {r['status']} {r.get('tokens_per_s', '')} tok/s", flush=True)
            if r["status"] != "ok":
                break
            L *= 2
        ok = [x["length"] for x in result["runs"] if x["status"] == "ok"]
        result["longest_ok_length"] = max(ok) if ok else None

    hc.write_json(args.out, result)
    print("\n=== HF full fine-tune step baseline (Llama-3.2-1B shape, bf16, AdamW fused, batch 1) ===")
    print(f"gpu={result['env'].get('gpu')} torch={result['env'].get('torch')} "
          f"transformers={result['env'].get('transformers')} checkpointing={result.get('gradient_checkpointing')}")
    print(f"{'length':>8s} {'status':>7s} {'tok/s':>10s} {'step ms':>10s} {'peak GiB':>9s} {'probe':>6s}")
    for r in result["runs"]:
        print(f"{r['length']:>8d} {r['status']:>7s} {str(r.get('tokens_per_s', '-')):>10s} "
              f"{str(r.get('median_step_ms', '-')):>10s} {str(r.get('peak_mem_gib', '-')):>9s} "
              f"{str(bool(r.get('probe'))):>6s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
