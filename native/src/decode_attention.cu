// Split-KV attention for one query token per sequence (batch-1 decode over a long cache). Each CTA reads one span
// of one KV head's keys once for all the query heads of its group and leaves a partial result (output and
// log-sum-exp); a second kernel merges the spans. ATen's batched matmuls reduce a 128K-key product over only
// B·Hkv output tiles, which leaves most SMs idle; here every SM streams its own part of the cache. The cache is
// read in the query's 16-bit type or as FP8-E4M3 codes (KvCacheStorage.Fp8E4M3: one byte per element, widened in
// registers), so an FP8 cache costs half the bytes per step instead of a decoded bf16 copy of the window.
#include "decode_attention.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace {

constexpr int kWarps = 4;

__device__ __forceinline__ float neg_inf() { return -__int_as_float(0x7f800000); }

// The element type's two-lane vector and conversions.
template <typename T>
struct Elem;
template <>
struct Elem<__nv_bfloat16> {
  using Pair = __nv_bfloat162;
  static __device__ __forceinline__ float2 to_float2(Pair x) { return __bfloat1622float2(x); }
  static __device__ __forceinline__ __nv_bfloat16 from_float(float x) { return __float2bfloat16(x); }
};
template <>
struct Elem<__half> {
  using Pair = __half2;
  static __device__ __forceinline__ float2 to_float2(Pair x) { return __half22float2(x); }
  static __device__ __forceinline__ __half from_float(float x) { return __float2half(x); }
};

// 8 elements loaded as one 16-byte word, widened to fp32.
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& raw, float* out) {
  const typename Elem<T>::Pair* h = reinterpret_cast<const typename Elem<T>::Pair*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float2 f = Elem<T>::to_float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

// How the cache's elements are stored: each lane loads 8 consecutive elements of a key (or value) row as one word
// and widens them to fp32. kUnroll keys per slot are in flight at once; the FP8 path, with half the bytes per word,
// keeps twice as many so that the bytes in flight per lane stay the same.
template <typename T>
struct Kv16 {   // keys/values in the query's type (bf16 or fp16)
  using Elt = T;
  using Word = uint4;   // 8 elements, 16 bytes
  static constexpr int kUnroll = 4;
  static __device__ __forceinline__ void unpack(const Word& raw, float* out) { unpack8<T>(raw, out); }
};
struct KvFp8E4M3 {   // OCP E4M3FN codes without a scale: the value is the code's own (Fp8E4M3.cs), exact in fp16
  using Elt = uint8_t;
  using Word = uint2;   // 8 elements, 8 bytes
  static constexpr int kUnroll = 8;
  static __device__ __forceinline__ void unpack(const Word& raw, float* out) {
    const __nv_fp8x2_storage_t* pairs = reinterpret_cast<const __nv_fp8x2_storage_t*>(&raw);   // low byte = first element
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __half22float2(__half2(__nv_cvt_fp8x2_to_halfraw2(pairs[i], __NV_E4M3)));
      out[2 * i] = f.x;
      out[2 * i + 1] = f.y;
    }
  }
};

// Grid (splits, Hkv, B), kWarps·32 threads. A key is read by D/8 lanes (8 elements each); a warp holds 32/(D/8)
// keys at a time. part_o: [B, Hkv, splits, G, D] fp32 (normalised within the span); part_lse: [B, Hkv, splits, G].
template <typename T, typename KV, int D, int G>
__global__ void __launch_bounds__(kWarps * 32)
decode_split_kernel(DecodeAttentionArgs a, const T* __restrict__ q, const typename KV::Elt* __restrict__ k,
                    const typename KV::Elt* __restrict__ v, float* __restrict__ part_o, float* __restrict__ part_lse) {
  using Elt = typename KV::Elt;
  using Word = typename KV::Word;
  constexpr int kLanes = D / 8;
  constexpr int kKeysPerWarp = 32 / kLanes;
  constexpr int kSlots = kWarps * kKeysPerWarp;
  const int split = blockIdx.x, hkv = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int sub = lane / kLanes, lane_in = lane % kLanes;
  const int slot = warp * kKeysPerWarp + sub;
  const unsigned group_mask = (0xffffffffu >> (32 - kLanes)) << (sub * kLanes);   // this key's lanes

  float qv[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    unpack8<T>(*reinterpret_cast<const uint4*>(q + b * a.q_sb + (int64_t)(hkv * G + g) * a.q_sh + lane_in * 8), qv[g]);
#pragma unroll
    for (int i = 0; i < 8; ++i) qv[g][i] *= a.scale;
  }
  float m[G], l[G], acc[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = neg_inf();
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = 0.f;
  }

  const Elt* kb = k + b * a.k_sb + hkv * a.k_sh + lane_in * 8;
  const Elt* vb = v + b * a.v_sb + hkv * a.v_sh + lane_in * 8;
  const int start = split * a.keys_per_split;
  const int end = min(a.keys, start + a.keys_per_split);
  // kUnroll keys per slot are fetched before any is used, so several loads per lane are in flight (the loop is
  // bound by memory latency otherwise). A slot past the end re-reads the span's first key and is skipped.
  constexpr int kUnroll = KV::kUnroll;
  for (int base = start + slot; base < end; base += kSlots * kUnroll) {
    Word kraw[kUnroll], vraw[kUnroll];
    float bias[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int key = base + u * kSlots;
      const int row = key < end ? key : start;
      bias[u] = key < end ? a.mask[key] : neg_inf();
      kraw[u] = *reinterpret_cast<const Word*>(kb + (int64_t)row * a.k_ss);
      vraw[u] = *reinterpret_cast<const Word*>(vb + (int64_t)row * a.v_ss);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (bias[u] == neg_inf()) continue;   // masked or past the end: the same for every lane of this key's group
      float kf[8], vf[8];
      KV::unpack(kraw[u], kf);
      KV::unpack(vraw[u], vf);
      float s[G];
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float dot = 0.f;
#pragma unroll
        for (int i = 0; i < 8; ++i) dot = fmaf(qv[g][i], kf[i], dot);
        s[g] = dot;
      }
#pragma unroll
      for (int off = kLanes / 2; off > 0; off >>= 1)
#pragma unroll
        for (int g = 0; g < G; ++g) s[g] += __shfl_xor_sync(group_mask, s[g], off, kLanes);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float x = s[g] + bias[u];
        const float mn = fmaxf(m[g], x);
        const float corr = __expf(m[g] - mn);
        const float p = __expf(x - mn);
        l[g] = l[g] * corr + p;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[g][i] = fmaf(p, vf[i], acc[g][i] * corr);
        m[g] = mn;
      }
    }
  }

  // Merge the CTA's key slots through shared memory.
  __shared__ float sm_m[kSlots][G], sm_l[kSlots][G];
  __shared__ float sm_acc[kSlots][G][D];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (lane_in == 0) {
      sm_m[slot][g] = m[g];
      sm_l[slot][g] = l[g];
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) sm_acc[slot][g][lane_in * 8 + i] = acc[g][i];
  }
  __syncthreads();
  const int64_t part = ((int64_t)(b * a.kv_heads + hkv) * a.splits + split) * G;
  for (int idx = threadIdx.x; idx < G * D; idx += blockDim.x) {
    const int g = idx / D, d = idx % D;
    float mx = neg_inf();
#pragma unroll
    for (int s = 0; s < kSlots; ++s) mx = fmaxf(mx, sm_m[s][g]);
    float sum = 0.f, o = 0.f;
    if (mx != neg_inf()) {
#pragma unroll
      for (int s = 0; s < kSlots; ++s) {
        const float w = __expf(sm_m[s][g] - mx);
        sum += sm_l[s][g] * w;
        o += sm_acc[s][g][d] * w;
      }
    }
    part_o[(part + g) * D + d] = sum > 0.f ? o / sum : 0.f;
    if (d == 0) part_lse[part + g] = sum > 0.f ? mx + __logf(sum) : neg_inf();
  }
}

// Grid B·Hq, D threads: merges the spans of one query head. out: [B, Hq, D] contiguous.
template <typename T, int D, int G>
__global__ void decode_merge_kernel(DecodeAttentionArgs a, const float* __restrict__ part_o,
                                    const float* __restrict__ part_lse, T* __restrict__ out) {
  const int hq = a.kv_heads * G;
  const int b = blockIdx.x / hq, h = blockIdx.x % hq, hkv = h / G, g = h % G, d = threadIdx.x;
  const int64_t base = (int64_t)(b * a.kv_heads + hkv) * a.splits;
  float mx = neg_inf();
  for (int s = 0; s < a.splits; ++s) mx = fmaxf(mx, part_lse[(base + s) * G + g]);
  float sum = 0.f, o = 0.f;
  if (mx != neg_inf()) {
    for (int s = 0; s < a.splits; ++s) {
      const float w = __expf(part_lse[(base + s) * G + g] - mx);
      sum += w;
      o += w * part_o[((base + s) * G + g) * D + d];
    }
  }
  out[((int64_t)b * hq + h) * D + d] = Elem<T>::from_float(sum > 0.f ? o / sum : 0.f);
}

template <typename T, typename KV, int D, int G>
cudaError_t launch(const DecodeAttentionArgs& a, const void* q, const void* k, const void* v, float* part_o,
                   float* part_lse, void* out, cudaStream_t stream) {
  using Elt = typename KV::Elt;
  dim3 grid(a.splits, a.kv_heads, a.batch);
  decode_split_kernel<T, KV, D, G><<<grid, kWarps * 32, 0, stream>>>(
      a, static_cast<const T*>(q), static_cast<const Elt*>(k), static_cast<const Elt*>(v), part_o, part_lse);
  decode_merge_kernel<T, D, G><<<a.batch * a.kv_heads * G, D, 0, stream>>>(a, part_o, part_lse, static_cast<T*>(out));
  return cudaGetLastError();
}

template <typename T, typename KV, int D>
cudaError_t launch_g(const DecodeAttentionArgs& a, int groups, const void* q, const void* k, const void* v,
                     float* part_o, float* part_lse, void* out, cudaStream_t stream) {
  switch (groups) {
    case 1: return launch<T, KV, D, 1>(a, q, k, v, part_o, part_lse, out, stream);
    case 2: return launch<T, KV, D, 2>(a, q, k, v, part_o, part_lse, out, stream);
    case 4: return launch<T, KV, D, 4>(a, q, k, v, part_o, part_lse, out, stream);
    case 8: return launch<T, KV, D, 8>(a, q, k, v, part_o, part_lse, out, stream);
    default: return cudaErrorInvalidValue;
  }
}

template <typename T, typename KV>
cudaError_t launch_d(const DecodeAttentionArgs& a, int head_dim, int groups, const void* q, const void* k,
                     const void* v, float* part_o, float* part_lse, void* out, cudaStream_t stream) {
  switch (head_dim) {
    case 64: return launch_g<T, KV, 64>(a, groups, q, k, v, part_o, part_lse, out, stream);
    case 128: return launch_g<T, KV, 128>(a, groups, q, k, v, part_o, part_lse, out, stream);
    case 256: return launch_g<T, KV, 256>(a, groups, q, k, v, part_o, part_lse, out, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

int decode_attention_slots(int head_dim) { return kWarps * (32 / (head_dim / 8)); }

cudaError_t launch_decode_attention(const DecodeAttentionArgs& a, bool bf16, bool fp8_kv, int head_dim, int groups,
                                    const void* q, const void* k, const void* v, float* part_o, float* part_lse,
                                    void* out, cudaStream_t stream) {
  if (fp8_kv)
    return bf16 ? launch_d<__nv_bfloat16, KvFp8E4M3>(a, head_dim, groups, q, k, v, part_o, part_lse, out, stream)
                : launch_d<__half, KvFp8E4M3>(a, head_dim, groups, q, k, v, part_o, part_lse, out, stream);
  return bf16 ? launch_d<__nv_bfloat16, Kv16<__nv_bfloat16>>(a, head_dim, groups, q, k, v, part_o, part_lse, out, stream)
              : launch_d<__half, Kv16<__half>>(a, head_dim, groups, q, k, v, part_o, part_lse, out, stream);
}
