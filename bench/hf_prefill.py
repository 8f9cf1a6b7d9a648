#!/usr/bin/env python3
"""HF transformers inference baseline: prefill and decode throughput of a Llama-3-8B-shape model (random weights).

Usage:
  python3 bench/hf_prefill.py --out docs/results/hf_prefill.json \
      [--lengths 8192,32768,65536,131072] [--decode-contexts 32768,131072] [--runs 3] [--warmup 1] \
      [--decode-steps 64] [--cache dynamic|static] [--decode-mode eager|compiled|both] [--static-probe 1048576]
      [--attn sdpa] [--layers N]

Prefill: batch 1, one forward over L random token ids with use_cache=False and logits_to_keep=1 (logits of the last
token only), timed with CUDA events; --warmup untimed runs, then the median of --runs timed runs.
Decode: prefill the context C into a KV cache (dynamic by default; --cache static tries StaticCache), then time
--decode-steps greedy steps of one token each (argmax of the last logits fed back). Peak memory is
torch.cuda.max_memory_allocated() over each measurement. Each length is independent: OOM or any error is recorded
("OOM" / "error") and the next length runs. JSON goes to --out (rewritten after every measurement); a table is printed last.
--decode-mode compiled: StaticCache and the one-token forward wrapped in torch.compile(mode="reduce-overhead") (CUDA
graphs), the fastest transformers decode path; its compile steps run untimed first. --static-probe L allocates a bf16
StaticCache of L tokens and records whether the card holds it (the quick way to show that 1M tokens of bf16 KV do not
fit), before anything else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common as hc  # noqa: E402


def cuda_time_ms(fn) -> float:
    import torch

    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    return float(start.elapsed_time(end))


def forward_last_logits(model, input_ids, **kw):
    """Forward returning only the last position's logits (v5 `logits_to_keep`, older `num_logits_to_keep`)."""
    try:
        return model(input_ids=input_ids, logits_to_keep=1, **kw)
    except TypeError:
        return model(input_ids=input_ids, num_logits_to_keep=1, **kw)


def bench_prefill(model, vocab: int, length: int, runs: int, warmup: int, seed: int) -> dict:
    import torch

    res: dict = {"length": length}
    g = torch.Generator(device="cuda").manual_seed(seed + length)
    ids = torch.randint(0, vocab, (1, length), device="cuda", generator=g)
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            out_holder = {}

            def run():
                out_holder["o"] = forward_last_logits(model, ids, use_cache=False)

            ms = cuda_time_ms(run)
            logits = out_holder["o"].logits
            if i == 0:
                res["logits_shape"] = list(logits.shape)
                res["logits_finite"] = bool(torch.isfinite(logits).all())
            del out_holder
            if i >= warmup:
                times.append(ms)
    med = hc.median(times)
    res.update({
        "status": "ok",
        "times_ms": [round(t, 2) for t in times],
        "median_ms": round(med, 2),
        "tokens_per_s": round(length / (med / 1000.0), 1),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "peak_mem_over_weights_gib": round((torch.cuda.max_memory_allocated() - base) / 2**30, 2),
    })
    return res


def static_probe(model, tokens: int) -> dict:
    """Allocates a bf16 StaticCache of `tokens` positions: either it fits (bytes reported) or the OOM error is kept."""
    import torch

    kv_bytes = 2 * model.config.num_hidden_layers * model.config.num_key_value_heads * \
        getattr(model.config, "head_dim", model.config.hidden_size // model.config.num_attention_heads) * 2 * tokens
    res = {"tokens": tokens, "kv_cache_gib_needed": round(kv_bytes / 2**30, 1),
           "weights_gib": round(torch.cuda.memory_allocated() / 2**30, 1),
           "gpu_total_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)}
    try:
        cache, _ = make_cache("static", model, tokens)
        # Lazily initialised caches allocate on first use: touch every layer.
        with torch.inference_mode():
            forward_last_logits(model, torch.zeros((1, 1), dtype=torch.long, device="cuda"), past_key_values=cache,
                                use_cache=True, cache_position=torch.tensor([0], device="cuda"))
        torch.cuda.synchronize()
        res.update({"status": "ok", "allocated_gib": round(torch.cuda.memory_allocated() / 2**30, 1)})
        del cache
    except Exception as e:  # noqa: BLE001
        res.update({"status": "OOM" if hc.is_oom(e) else "error", "error": hc.error_text(e)})
    hc.free_cuda()
    return res


def make_cache(kind: str, model, max_len: int):
    if kind == "dynamic":
        from transformers import DynamicCache

        try:
            return DynamicCache(config=model.config), "dynamic"
        except TypeError:
            return DynamicCache(), "dynamic"
    from transformers import StaticCache

    try:
        return StaticCache(config=model.config, max_cache_len=max_len), "static"
    except TypeError:
        import torch

        return StaticCache(config=model.config, max_batch_size=1, max_cache_len=max_len, device="cuda",
                           dtype=torch.bfloat16), "static"


def bench_decode(model, vocab: int, context: int, steps: int, cache_kind: str, seed: int, mode: str = "eager") -> dict:
    import torch

    if mode == "compiled":
        cache_kind = "static"   # torch.compile's CUDA graphs need fixed-shape caches
    res: dict = {"context": context, "steps": steps, "mode": mode}
    g = torch.Generator(device="cuda").manual_seed(seed + 7 * context)
    ids = torch.randint(0, vocab, (1, context), device="cuda", generator=g)
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        try:
            cache, used = make_cache(cache_kind, model, context + steps + 8)
        except Exception as e:  # noqa: BLE001
            res["cache_note"] = f"{cache_kind} cache unavailable ({hc.error_text(e)}); dynamic used"
            cache, used = make_cache("dynamic", model, context + steps + 8)
        res["cache"] = used
        pos = torch.arange(context, device="cuda")
        t0 = time.perf_counter()
        out = forward_last_logits(model, ids, past_key_values=cache, use_cache=True, cache_position=pos)
        torch.cuda.synchronize()
        res["prefill_s"] = round(time.perf_counter() - t0, 3)
        cache = out.past_key_values
        nxt = out.logits[:, -1:].argmax(-1)
        del out
        forward = model.forward
        if mode == "compiled":
            forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=False)
        # untimed steps: kernel selection / allocator warm-up, and for compiled the compile and graph capture
        cur = context
        t0 = time.perf_counter()
        for _ in range(2 if mode == "eager" else 4):
            o = forward(input_ids=nxt, past_key_values=cache, use_cache=True,
                        cache_position=torch.tensor([cur], device="cuda"))
            cache = o.past_key_values
            nxt = o.logits[:, -1:].argmax(-1).clone()
            cur += 1
        torch.cuda.synchronize()
        res["warmup_s"] = round(time.perf_counter() - t0, 2)
        per_step = []
        state = {"cache": cache, "nxt": nxt, "cur": cur}

        def step():
            o = forward(input_ids=state["nxt"], past_key_values=state["cache"], use_cache=True,
                        cache_position=torch.tensor([state["cur"]], device="cuda"))
            state["cache"] = o.past_key_values
            state["nxt"] = o.logits[:, -1:].argmax(-1).clone()
            state["cur"] += 1

        for _ in range(steps):
            per_step.append(cuda_time_ms(step))
    total_ms = sum(per_step)
    med = hc.median(per_step)
    res.update({
        "status": "ok",
        "total_ms": round(total_ms, 2),
        "median_step_ms": round(med, 3),
        "tokens_per_s": round(steps / (total_ms / 1000.0), 2),
        "tokens_per_s_median_step": round(1000.0 / med, 2),
        "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    })
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSON results file")
    ap.add_argument("--lengths", default="8192,32768,65536,131072")
    ap.add_argument("--decode-contexts", default="32768,131072")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--decode-steps", type=int, default=64)
    ap.add_argument("--cache", choices=["dynamic", "static"], default="dynamic")
    ap.add_argument("--decode-mode", choices=["eager", "compiled", "both"], default="eager",
                    help="eager: the plain loop; compiled: StaticCache + torch.compile(mode='reduce-overhead')")
    ap.add_argument("--static-probe", type=int, default=0,
                    help="first try to allocate a bf16 StaticCache of this many tokens and record the outcome")
    ap.add_argument("--attn", default="sdpa", help="attn_implementation (sdpa, eager, flash_attention_2, ...)")
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers (smoke tests)")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    result: dict = {"benchmark": "hf_prefill", "model_shape": "Llama-3-8B (random weights)", "dtype": "bfloat16",
                    "batch": 1, "env": hc.env_info(), "settings": vars(args), "prefill": [], "decode": [],
                    "errors": []}
    try:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("CUDA is not available")
        torch.manual_seed(args.seed)
        shape = dict(hc.LLAMA3_8B)
        if args.layers:
            shape["num_hidden_layers"] = args.layers
        cfg = hc.llama_config(shape, args.attn)
        t0 = time.perf_counter()
        model = hc.build_random_model(cfg, torch.bfloat16, "cuda", args.seed, args.attn)
        result["attn_implementation"] = hc.set_attn(model, args.attn)
        result["build_s"] = round(time.perf_counter() - t0, 1)
        result["params_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
        result["weights_gib"] = round(torch.cuda.memory_allocated() / 2**30, 2)
        result["config_rope_parameters"] = getattr(model.config, "rope_parameters", None)
        vocab = shape["vocab_size"]
    except Exception as e:  # noqa: BLE001
        hc.print_trace(e)
        result["errors"].append({"part": "setup", "error": hc.error_text(e)})
        hc.write_json(args.out, result)
        print(f"setup failed: {hc.error_text(e)}")
        return 1

    def measure_each(part: str, key: str, label: str, values: list[int], measure) -> None:
        # One row per value: an OOM or error is recorded and the next value still runs.
        for x in values:
            print(f"{part} {label}={x} ...", flush=True)
            try:
                r = measure(x)
            except Exception as e:  # noqa: BLE001
                r = {key: x, "status": "OOM" if hc.is_oom(e) else "error", "error": hc.error_text(e)}
                if r["status"] == "error":
                    hc.print_trace(e)
            hc.free_cuda()
            result[part].append(r)
            hc.write_json(args.out, result)
            print(f"  -> {r.get('status')} {r.get('tokens_per_s', '')} tok/s", flush=True)

    if args.static_probe:
        result["static_probe"] = static_probe(model, args.static_probe)
        hc.write_json(args.out, result)
        print(f"static cache of {args.static_probe} tokens: {result['static_probe']['status']}", flush=True)

    measure_each("prefill", "length", "L", hc.int_list(args.lengths),
                 lambda L: bench_prefill(model, vocab, L, args.runs, args.warmup, args.seed))
    for mode in (["eager", "compiled"] if args.decode_mode == "both" else [args.decode_mode]):
        measure_each("decode", "context", "C", hc.int_list(args.decode_contexts),
                     lambda C, m=mode: bench_decode(model, vocab, C, args.decode_steps, args.cache, args.seed, m))

    hc.write_json(args.out, result)
    print("\n=== HF prefill/decode baseline (Llama-3-8B shape, bf16, batch 1) ===")
    print(f"gpu={result['env'].get('gpu')} torch={result['env'].get('torch')} "
          f"transformers={result['env'].get('transformers')} attn={result.get('attn_implementation')}")
    print(f"{'phase':8s} {'tokens':>8s} {'status':>7s} {'tok/s':>12s} {'median ms':>11s} {'peak GiB':>9s}")
    for r in result["prefill"]:
        print(f"{'prefill':8s} {r['length']:>8d} {r['status']:>7s} {str(r.get('tokens_per_s', '-')):>12s} "
              f"{str(r.get('median_ms', '-')):>11s} {str(r.get('peak_mem_gib', '-')):>9s}")
    for r in result["decode"]:
        print(f"{'decode ' + r.get('mode', 'eager')[:1]:8s} {r['context']:>8d} {r['status']:>7s} {str(r.get('tokens_per_s', '-')):>12s} "
              f"{str(r.get('median_step_ms', '-')):>11s} {str(r.get('peak_mem_gib', '-')):>9s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
