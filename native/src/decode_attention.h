// Launcher of the split-KV decode attention kernels (decode_attention.cu, built by nvcc when the toolkit is
// found). The host side (decode_attention.cpp) validates tensors and allocates; this header stays free of ATen.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

struct DecodeAttentionArgs {
  // Element strides: q [B, Hq, 1, D] (batch, head); k/v [B, Hkv, S, D] (batch, head, slot). The last dim is dense.
  // For FP8 k/v an element is one byte.
  int64_t q_sb, q_sh;
  int64_t k_sb, k_sh, k_ss;
  int64_t v_sb, v_sh, v_ss;
  const float* mask;   // [S] additive: 0 for a visible slot, -inf for one past the current position
  int batch, kv_heads, keys, splits, keys_per_split;
  float scale;
};

// Keys a CTA works on at once for this head size (spans are best a multiple of it).
int decode_attention_slots(int head_dim);

// part_o: B·Hkv·splits·G·D floats, part_lse: B·Hkv·splits·G floats (workspace); out: [B, Hq, 1, D] contiguous.
// q/out are bf16 (bf16 = true) or fp16; k/v are the same type, or FP8-E4M3 codes, one byte each (fp8_kv = true).
cudaError_t launch_decode_attention(const DecodeAttentionArgs& args, bool bf16, bool fp8_kv, int head_dim, int groups,
                                    const void* q, const void* k, const void* v, float* part_o, float* part_lse,
                                    void* out, cudaStream_t stream);
