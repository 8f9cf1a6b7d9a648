// FP8-E4M3 codes of the KV cache (KvCacheStorage.Fp8E4M3: uint8 tensors, no scale) through ATen's own
// float8_e4m3fn casts: one kernel each way, where the managed fallback (Fp8E4M3.cs) takes a dozen element-wise
// passes in fp32. Both round to nearest even; the encoder saturates at ±448 like the fallback.
#include "common.h"

// out = E4M3 codes of x (any float dtype), uint8, same shape.
LC_EXPORT int lc_fp8_e4m3_encode(void* x, void** out) {
  LC_TRY({
    // Saturate first: ATen's cast (the OCP format's non-saturating conversion) turns |x| > 464 into NaN.
    *out = lc::adopt(lc::T(x).clamp(-448.0, 448.0).to(at::kFloat8_e4m3fn).view(at::kByte));
  })
}

// out = values of the E4M3 codes (uint8, any strides) as dtype (a c10::ScalarType code: TorchSharp's ScalarType).
LC_EXPORT int lc_fp8_e4m3_decode(void* codes, int dtype, void** out) {
  LC_TRY({
    auto& C = lc::T(codes);
    TORCH_CHECK(C.scalar_type() == at::kByte, "fp8 decode: codes must be uint8");
    *out = lc::adopt(C.view(at::kFloat8_e4m3fn).to(static_cast<at::ScalarType>(dtype)));
  })
}
