// Fused element-wise ops ATen has and TorchSharp does not expose. RMSNorm written as TorchSharp ops is seven
// kernels over the activations (two per decoder layer); ATen's rms_norm is one on CUDA.
#include "common.h"

// out = rms_norm(x, [x.size(-1)], weight, eps): normalised in fp32, result in x's dtype. Differentiable (ATen
// records the autograd graph as for any op called from TorchSharp).
LC_EXPORT int lc_rms_norm(void* x, void* weight, double eps, void** out) {
  LC_TRY({
    auto& X = lc::T(x);
    *out = lc::adopt(at::rms_norm(X, {X.size(-1)}, lc::T(weight), eps));
  })
}
