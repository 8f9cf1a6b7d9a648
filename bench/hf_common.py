"""Shared helpers for the HF transformers baselines (bench/hf_prefill.py, bench/hf_train.py).

Random-weight models are built from a config dict (no download): parameters are created on the meta device,
materialised with to_empty() on the GPU and filled with N(0, 0.02) (norm weights 1); the rotary embedding module is
re-created afterwards because to_empty() leaves its non-persistent inv_freq buffers uninitialised.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import traceback

# Llama-3-8B shape (public config values).
LLAMA3_8B = {
    "vocab_size": 128256,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "hidden_act": "silu",
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "mlp_bias": False,
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
}

# Llama-3.2-1B shape (public config values).
LLAMA32_1B = {
    "vocab_size": 128256,
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "hidden_act": "silu",
    "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-5,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "tie_word_embeddings": True,
    "attention_bias": False,
    "mlp_bias": False,
    "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
}


def llama_config(shape: dict, attn_implementation: str):
    """LlamaConfig from a v5-style dict; falls back to the transformers-4 rope form if rope_parameters is refused."""
    import transformers

    d = dict(shape)
    try:
        cfg = transformers.LlamaConfig(**d)
        rp = getattr(cfg, "rope_parameters", None)
        if not rp or rp.get("rope_type") != d["rope_parameters"]["rope_type"]:
            raise TypeError("rope_parameters not taken")
    except TypeError:
        rp = dict(d.pop("rope_parameters"))
        d["rope_theta"] = rp.pop("rope_theta")
        d["rope_scaling"] = rp
        cfg = transformers.LlamaConfig(**d)
    try:
        cfg._attn_implementation = attn_implementation
    except Exception:  # noqa: BLE001
        pass
    return cfg


def build_random_model(config, dtype, device: str, seed: int, attn_implementation: str):
    import torch
    import transformers

    with torch.device("meta"):
        try:
            model = transformers.LlamaForCausalLM._from_config(config, dtype=dtype,
                                                               attn_implementation=attn_implementation)
        except TypeError:
            model = transformers.LlamaForCausalLM._from_config(config, torch_dtype=dtype,
                                                               attn_implementation=attn_implementation)
    model = model.to_empty(device=device)
    if next(model.parameters()).dtype != dtype:
        model = model.to(dtype)
    # to_empty() gives every module its own new Parameter, which unties shared embeddings: tie them again.
    if getattr(config, "tie_word_embeddings", False) and hasattr(model, "tie_weights"):
        model.tie_weights()
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                p.normal_(0.0, 0.02, generator=gen)
    # Re-create rotary embeddings: their inv_freq buffers are not parameters and were left empty by to_empty().
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if "RotaryEmbedding" in type(child).__name__:
                fresh = type(child)(config=model.config, device=device)
                setattr(parent, child_name, fresh)
    for name, buf in model.named_buffers():
        if buf.is_floating_point() and not torch.isfinite(buf).all():
            raise RuntimeError(f"buffer {name} is not finite after initialisation")
    model.eval()
    return model


def set_attn(model, impl: str) -> str:
    try:
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(impl)
    except Exception:  # noqa: BLE001
        pass
    return str(getattr(model.config, "_attn_implementation", impl))


def env_info() -> dict:
    info = {"python": platform.python_version()}
    for mod in ("torch", "transformers"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            info[mod] = f"unavailable: {e}"
    try:
        import torch

        info["cuda"] = torch.version.cuda
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_total_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
            try:
                info["sdpa_flash_enabled"] = bool(torch.backends.cuda.flash_sdp_enabled())
            except Exception:  # noqa: BLE001
                pass
    except Exception:  # noqa: BLE001
        pass
    return info


def is_oom(exc: BaseException) -> bool:
    import torch

    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                  getattr(torch.cuda, "OutOfMemoryError", None)) if t is not None)
    if oom_types and isinstance(exc, oom_types):
        return True
    return "out of memory" in str(exc).lower()


def free_cuda() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:500]}"


def print_trace(exc: BaseException) -> None:
    traceback.print_exception(type(exc), exc, exc.__traceback__, limit=5, file=sys.stderr)


def median(xs):
    return statistics.median(xs) if xs else None


def write_json(path: str, obj) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def int_list(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]
