#!/usr/bin/env python3
"""Turns the outputs of bench/run-all.sh parts into the Markdown table of docs/results/benchmarks.md.

Usage: python3 bench/results_table.py [--peak-tflops 989] [--card NAME] DIR [DIR...]

Reads, from every DIR: LongContext's JSON lines (part*_ours_*.jsonl: one "record" per finished item, a truncated
last line is ignored), transformers' JSON (part*_hf_*.json, rewritten after each measurement) and card.json. Each row
is one workload at one length: LongContext's number, the peer's, their ratio, and LongContext's fraction of the
physical limit (achieved model TFLOP/s over the dense bf16 peak for prefill and training; the decode bench's own
bandwidth fraction: weights + KV cache read once per token). Standard library only.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys


def read_lines(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by a killed run
    return out


def read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}


def fmt(v, digits=0) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def length_name(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10}K"
    return str(n)


def ratio(a, b) -> str:
    return f"**{a / b:.2f}×**" if a and b else "–"


def collect(dirs: list[str]):
    ours: dict[str, list[dict]] = {}
    hf: dict[str, dict] = {}
    card = {}
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "part*_ours_*.jsonl"))):
            ours.setdefault(os.path.basename(p).split("_ours_")[0], []).extend(
                dict(r, _file=os.path.basename(p)) for r in read_lines(p))
        for p in sorted(glob.glob(os.path.join(d, "part*_hf_*.json"))):
            hf[os.path.basename(p)[:-5]] = read_json(p)
        card = read_json(os.path.join(d, "card.json")) or card
    return ours, hf, card


def rows(ours, hf, peak_tflops: float) -> list[list[str]]:
    out = []
    # prefill
    hf_pre = {r["length"]: r for r in hf.get("part1_hf_prefill", {}).get("prefill", [])}
    for r in [x for x in ours.get("part1", []) if x.get("record") == "prefill"]:
        peer = hf_pre.get(r["length"], {})
        peer_tps = peer.get("tokens_per_s") if peer.get("status") == "ok" else None
        out.append([f"8B prefill {length_name(r['length'])}", f"{fmt(r['tokens_per_second'])} tok/s",
                    f"{fmt(peer_tps)} tok/s" if peer_tps else (peer.get("status") or "not run"),
                    ratio(r["tokens_per_second"], peer_tps), f"{r['tflops'] / peak_tflops:.0%} of matmul peak"])
    # decode: peer = the faster of transformers' compiled and eager loops
    hf_dec: dict[int, dict] = {}
    for r in hf.get("part2_hf_decode", {}).get("decode", []):
        if r.get("status") == "ok" and r.get("tokens_per_s", 0) > hf_dec.get(r["context"], {}).get("tokens_per_s", 0):
            hf_dec[r["context"]] = r
    eager = {r["context"]: r for r in hf.get("part2_hf_decode", {}).get("decode", []) if r.get("mode") == "eager" and r.get("status") == "ok"}
    bf16 = {r["context"]: r for r in ours.get("part2", []) if r.get("record") == "decode" and r.get("kv_cache") == "model"}
    for ctx, r in sorted(bf16.items()):
        peer = hf_dec.get(ctx)
        peer_text = f"{fmt(peer['tokens_per_s'], 1)} tok/s ({peer.get('mode', 'eager')})" if peer else "not run"
        if peer and ctx in eager and peer.get("mode") != "eager":
            peer_text += f"; eager {fmt(eager[ctx]['tokens_per_s'], 1)}"
        out.append([f"8B decode at {length_name(ctx)} ({r['mode']})", f"{fmt(r['tokens_per_second'], 1)} tok/s", peer_text,
                    ratio(r["tokens_per_second"], peer["tokens_per_s"] if peer else None), f"{r['bandwidth_fraction']:.0%} of bandwidth limit"])
    # FP8 KV against our own bf16 KV (transformers has no FP8 KV cache path to compare)
    for r in [x for x in ours.get("part2", []) if x.get("kv_cache") == "fp8"]:
        if r.get("record") == "prefill":
            base = next((b for b in ours["part2"] if b.get("record") == "prefill" and b.get("kv_cache") == "model" and b["length"] == r["length"]), None)
            out.append([f"8B prefill {length_name(r['length'])}, FP8 KV", f"{fmt(r['tokens_per_second'])} tok/s",
                        f"{fmt(base['tokens_per_second'])} tok/s (ours, bf16 KV)" if base else "–",
                        ratio(r["tokens_per_second"], base["tokens_per_second"] if base else None), f"{r['tflops'] / peak_tflops:.0%} of matmul peak"])
        elif r.get("record") == "decode":
            base = bf16.get(r["context"])
            out.append([f"8B decode at {length_name(r['context'])}, FP8 KV ({r['mode']})", f"{fmt(r['tokens_per_second'], 1)} tok/s",
                        f"{fmt(base['tokens_per_second'], 1)} tok/s (ours, bf16 KV)" if base else "–",
                        ratio(r["tokens_per_second"], base["tokens_per_second"] if base else None), f"{r['bandwidth_fraction']:.0%} of bandwidth limit"])
    # training
    hf_train = {r["length"]: r for r in hf.get("part3_hf_train", {}).get("runs", [])}
    for r in [x for x in ours.get("part3", []) if x.get("record") == "train"]:
        peer = hf_train.get(r["length"], {})
        ok = peer.get("status") == "ok"
        how = "no checkpointing" if peer.get("gradient_checkpointing") is False else "checkpointing"
        out.append([f"1B full FT {length_name(r['length'])}",
                    f"{fmt(r['tokens_per_second'])} tok/s" + (f" ({r['checkpointed_layers']} layers ckpt)" if r.get("checkpointed_layers") is not None else ""),
                    f"{fmt(peer['tokens_per_s'])} tok/s ({how})" if ok else (peer.get("status") or "not run"),
                    ratio(r["tokens_per_second"], peer.get("tokens_per_s") if ok else None),
                    f"{r['mfu']:.0%} MFU" if r.get("mfu") else "–"])
    # longest trainable
    longest = [x for x in ours.get("part4", []) if x.get("record") == "train"]
    if longest:
        ok = [x for x in longest if not x.get("error")]
        best = max(ok, key=lambda x: x["length"]) if ok else None
        hf_long = hf.get("part4_hf_longest", {})
        hf_ok = [r["length"] for r in hf_long.get("runs", []) if r.get("status") == "ok"]
        out.append(["1B longest trainable sequence", f"{length_name(best['length'])} ({fmt(best['tokens_per_second'])} tok/s)" if best else "none",
                    f"{length_name(max(hf_ok))}" if hf_ok else ("none fit" if hf_long else "not run"),
                    f"**{best['length'] / max(hf_ok):.0f}×** longer" if best and hf_ok else "–",
                    f"{best['mfu']:.0%} MFU" if best and best.get("mfu") else "–"])
    # 1M inference
    for r in [x for x in ours.get("part5", []) if x.get("record") == "prefill_decode"]:
        probe = hf.get("part6_hf_large", {}).get("static_probe", {})
        largest = [p for p in hf.get("part6_hf_large", {}).get("prefill", []) if p.get("status") == "ok"]
        peer = f"1M bf16 KV: {probe.get('status')} ({probe.get('kv_cache_gib_needed')} GiB needed)" if probe else "not run"
        if largest:
            peer += f"; largest prefill {length_name(max(p['length'] for p in largest))}"
        out.append([f"8B {length_name(r['length'])} tokens, FP8 KV: TTFT / decode",
                    f"{fmt(r['ttft_seconds'], 0)} s ({fmt(r['prefill_tokens_per_second'])} tok/s) / {fmt(r['decode_tokens_per_second'], 1)} tok/s, peak {r['peak_bytes'] / 2**30:.0f} GiB",
                    peer, "–", f"{r['prefill_tflops'] / peak_tflops:.0%} of matmul peak"])
    chunks = [x for x in ours.get("part5", []) if x.get("record") == "prefill_chunk"]
    if chunks and not any(x.get("record") == "prefill_decode" for x in ours.get("part5", [])):
        last = chunks[-1]
        out.append([f"8B {length_name(last['length'])} tokens, FP8 KV (cut at {length_name(last['tokens_done'])})",
                    f"{fmt(last['tokens_per_second'])} tok/s over {fmt(last['seconds'], 0)} s", "–", "–", f"{last['tflops'] / peak_tflops:.0%} of matmul peak"])
    # server TTFT vs transformers' prefill of the same length (same call)
    hf_large = {r["length"]: r for r in hf.get("part6_hf_large", {}).get("prefill", []) if r.get("status") == "ok"}
    for r in [x for x in ours.get("part6", []) if x.get("record") == "serve" and x.get("request") == "cold"]:
        peer = hf_large.get(r["context"])
        peer_s = peer["median_ms"] / 1000 if peer else None
        out.append([f"server TTFT, {length_name(r['context'])} prompt (cold)", f"{r['time_to_first_token_seconds']:.2f} s",
                    f"{peer_s:.2f} s (transformers prefill)" if peer_s else "not run",
                    f"**{peer_s / r['time_to_first_token_seconds']:.2f}×** faster" if peer_s else "–", "–"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--card", default=None)
    args = ap.parse_args()
    ours, hf, card = collect(args.dirs)
    name = args.card or card.get("gpu") or "unknown card"
    table = rows(ours, hf, args.peak_tflops * 1.0)
    print(f"Card: **{name}**; every ratio is LongContext ÷ transformers measured in the same GPU call (bench/run-all.sh part N).")
    print(f"Physical limit: dense bf16 matmul peak {args.peak_tflops:.0f} TFLOP/s (prefill, training); memory bandwidth (decode).\n")
    print("| workload | LongContext | transformers (same call) | ratio | LongContext vs physical limit |")
    print("|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")
    return 0 if table else 1


if __name__ == "__main__":
    sys.exit(main())
