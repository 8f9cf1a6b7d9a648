// Attention kernels that return the log-sum-exp, which ring attention and chunked prefill need to merge
// partial results. Layout [B, H, L, D]; K/V may have fewer heads than Q (GQA) and are never repeated here.
// cuDNN's fused attention is first choice (fastest on Hopper, design.md §2); FlashAttention-2 is the fallback.
#include "common.h"

#include <cmath>
#include <optional>

namespace {

enum Kernel { kAuto = 0, kCudnn = 1, kFlash = 2 };

std::optional<double> scale_arg(double scale) {
  if (scale > 0) return scale;
  return std::nullopt;
}

at::Tensor lse_as_blh(const at::Tensor& lse) {
  // cuDNN returns [B, H, L, 1]; flash [B, H, L]. Callers always get fp32 [B, H, L].
  at::Tensor out = lse.dim() == 4 ? lse.squeeze(-1) : lse;
  return out.to(at::kFloat).contiguous();
}

at::Tensor cuda_scalar_long(const at::Tensor& like) {
  return at::zeros({}, at::dtype(at::kLong).device(like.device()));
}

bool use_cudnn(int kernel) { return kernel == kAuto || kernel == kCudnn; }

}  // namespace

// out/lse receive new tensors; used_kernel reports which kernel ran (1 cuDNN, 2 flash).
LC_EXPORT int lc_attention_forward(void* q, void* k, void* v, int causal, double scale, int kernel,
                                   void** out, void** lse, int* used_kernel) {
  LC_TRY({
    auto& Q = lc::T(q);
    auto& K = lc::T(k);
    auto& V = lc::T(v);
    if (use_cudnn(kernel)) {
      try {
        auto r = at::_scaled_dot_product_cudnn_attention(Q, K, V, std::nullopt, /*compute_log_sumexp=*/true,
                                                         /*dropout_p=*/0.0, causal != 0, /*return_debug_mask=*/false,
                                                         scale_arg(scale));
        *out = lc::adopt(std::get<0>(r));
        *lse = lc::adopt(lse_as_blh(std::get<1>(r)));
        *used_kernel = kCudnn;
        return 0;
      } catch (const std::exception&) {
        if (kernel == kCudnn) throw;  // asked for cuDNN explicitly: report its error
      }
    }
    auto r = at::_scaled_dot_product_flash_attention(Q, K, V, 0.0, causal != 0, false, scale_arg(scale));
    *out = lc::adopt(std::get<0>(r));
    *lse = lc::adopt(lse_as_blh(std::get<1>(r)));
    *used_kernel = kFlash;
  })
}

// Gradients of attention given the forward's output and log-sum-exp (which may come from a merge of several
// blocks, as in ring attention: the kernels only need the final out/lse of each query row).
LC_EXPORT int lc_attention_backward(void* grad_out, void* q, void* k, void* v, void* out, void* lse, int causal,
                                    double scale, int kernel, void** dq, void** dk, void** dv) {
  LC_TRY({
    auto& dO = lc::T(grad_out);
    auto& Q = lc::T(q);
    auto& K = lc::T(k);
    auto& V = lc::T(v);
    auto& O = lc::T(out);
    auto& LSE = lc::T(lse);
    const int64_t max_q = Q.size(2), max_k = K.size(2);
    std::tuple<at::Tensor, at::Tensor, at::Tensor> g;
    bool done = false;
    if (use_cudnn(kernel)) {
      try {
        g = at::_scaled_dot_product_cudnn_attention_backward(
            dO, Q, K, V, O, LSE.unsqueeze(-1).contiguous(), cuda_scalar_long(Q), cuda_scalar_long(Q),
            at::Tensor(), at::Tensor(), at::Tensor(), max_q, max_k, 0.0, causal != 0, scale_arg(scale));
        done = true;
      } catch (const std::exception&) {
        if (kernel == kCudnn) throw;
      }
    }
    if (!done) {
      g = at::_scaled_dot_product_flash_attention_backward(dO, Q, K, V, O, LSE, at::Tensor(), at::Tensor(), max_q,
                                                           max_k, 0.0, causal != 0, cuda_scalar_long(Q),
                                                           cuda_scalar_long(Q), scale_arg(scale));
    }
    *dq = lc::adopt(std::get<0>(g));
    *dk = lc::adopt(std::get<1>(g));
    *dv = lc::adopt(std::get<2>(g));
  })
}
