// Host side of the split-KV decode attention (decode_attention.cu): checks the tensors, sizes the split, allocates
// the workspace from the caching allocator (so the call can be captured in a CUDA graph) and launches on the
// current stream. Built without nvcc, the export reports that the kernels are missing.
#include "common.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <stdexcept>

#ifdef LC_HAVE_CUDA_KERNELS
#include "decode_attention.h"
#endif

// 1 when the add-on was built with its own CUDA kernels (nvcc found at build time).
LC_EXPORT int lc_has_cuda_kernels() {
#ifdef LC_HAVE_CUDA_KERNELS
  return 1;
#else
  return 0;
#endif
}

// out = softmax(q·kᵀ·scale + mask)·v for one query token: q [B, Hq, 1, D], k/v [B, Hkv, S, D] (any strides with
// a dense last dim; query head h reads KV head h / (Hq / Hkv)), mask [S] fp32 additive. out: [B, Hq, 1, D].
// k/v are q's dtype, or FP8-E4M3 codes (uint8 or float8_e4m3fn, no scale: KvCacheStorage.Fp8E4M3) read as they are.
LC_EXPORT int lc_decode_attention(void* q, void* k, void* v, void* mask, double scale, void** out) {
#ifndef LC_HAVE_CUDA_KERNELS
  lc::set_error("the add-on was built without its CUDA kernels (nvcc was not found): rebuild with scripts/build-native.sh on a machine with the CUDA toolkit");
  return -1;
#else
  LC_TRY({
    auto& Q = lc::T(q);
    auto& K = lc::T(k);
    auto& V = lc::T(v);
    auto& M = lc::T(mask);
    TORCH_CHECK(Q.is_cuda() && K.is_cuda() && V.is_cuda() && M.is_cuda(), "decode attention: tensors must be on CUDA");
    TORCH_CHECK(Q.dim() == 4 && K.dim() == 4 && V.dim() == 4 && Q.size(2) == 1, "decode attention: q [B,Hq,1,D], k/v [B,Hkv,S,D]");
    TORCH_CHECK(K.sizes() == V.sizes() && Q.size(0) == K.size(0) && Q.size(3) == K.size(3), "decode attention: shapes of q, k, v disagree");
    TORCH_CHECK(Q.scalar_type() == at::kBFloat16 || Q.scalar_type() == at::kHalf, "decode attention: q must be bfloat16 or float16");
    const bool fp8 = K.scalar_type() == at::kByte || K.scalar_type() == at::kFloat8_e4m3fn;
    TORCH_CHECK(K.scalar_type() == V.scalar_type() && (fp8 || K.scalar_type() == Q.scalar_type()),
                "decode attention: k and v must both be q's dtype or both FP8-E4M3 codes (uint8 / float8_e4m3fn)");
    TORCH_CHECK(M.scalar_type() == at::kFloat && M.is_contiguous() && M.numel() == K.size(2), "decode attention: mask must be fp32 [S]");
    const int64_t B = Q.size(0), Hq = Q.size(1), D = Q.size(3), Hkv = K.size(1), S = K.size(2);
    TORCH_CHECK(Hq % Hkv == 0, "decode attention: query heads must be a multiple of KV heads");
    const int64_t G = Hq / Hkv;
    TORCH_CHECK((D == 64 || D == 128 || D == 256) && (G == 1 || G == 2 || G == 4 || G == 8),
                "decode attention: head_dim 64/128/256 and 1/2/4/8 query heads per KV head are supported");
    for (const at::Tensor* t : {&Q, &K, &V}) {
      // A lane loads 8 elements as one word: 16 bytes for 16-bit types, 8 for FP8 codes.
      TORCH_CHECK(t->stride(3) == 1 && reinterpret_cast<uintptr_t>(t->data_ptr()) % (8 * t->element_size()) == 0,
                  "decode attention: the last dim must be dense and aligned to 8 elements");
      for (int d = 0; d < 3; ++d) TORCH_CHECK(t->stride(d) % 8 == 0 || t->size(d) == 1, "decode attention: strides must be multiples of 8 elements");
    }
    TORCH_CHECK(S > 0 && S < (int64_t{1} << 31), "decode attention: key count out of range");

    c10::cuda::CUDAGuard guard(Q.device());
    const int slots = decode_attention_slots((int)D);
    const int sms = at::cuda::getCurrentDeviceProperties()->multiProcessorCount;
    int64_t splits = std::max<int64_t>(1, (int64_t)sms * 8 / (B * Hkv));
    splits = std::min<int64_t>(splits, std::max<int64_t>(1, S / (slots * 4)));   // ≥ 4 keys per slot
    int64_t per_split = (S + splits - 1) / splits;
    per_split = (per_split + slots - 1) / slots * slots;
    splits = (S + per_split - 1) / per_split;

    auto opts = Q.options().dtype(at::kFloat);
    auto part_o = at::empty({B * Hkv * splits * G * D}, opts);
    auto part_lse = at::empty({B * Hkv * splits * G}, opts);
    auto O = at::empty({B, Hq, 1, D}, Q.options());
    DecodeAttentionArgs a{Q.stride(0), Q.stride(1), K.stride(0), K.stride(1), K.stride(2), V.stride(0), V.stride(1),
                          V.stride(2), M.data_ptr<float>(), (int)B, (int)Hkv, (int)S, (int)splits, (int)per_split,
                          (float)scale};
    auto err = launch_decode_attention(a, Q.scalar_type() == at::kBFloat16, fp8, (int)D, (int)G, Q.data_ptr(), K.data_ptr(),
                                       V.data_ptr(), part_o.data_ptr<float>(), part_lse.data_ptr<float>(), O.data_ptr(),
                                       at::cuda::getCurrentCUDAStream().stream());
    TORCH_CHECK(err == cudaSuccess, "decode attention launch failed: ", cudaGetErrorString(err));
    *out = lc::adopt(O);
  })
#endif
}
