// One multi-tensor AdamW step (ATen's fused CUDA kernel) over fp32 master weights, instead of ~10 element-wise
// kernels per parameter launched one by one from managed code: on a 1B model that loop costs ~50 ms a step.
#include "common.h"

#include <vector>

// masters/exp_avgs/exp_avg_sqs: fp32 on one CUDA device. grads: any float dtype (converted to fp32 here).
// weights: the model's (e.g. bf16) parameters, set to the updated masters; may be null (fp32 parameters are their
// own masters). step: the 1-based step count for the bias corrections.
LC_EXPORT int lc_fused_adamw(void** masters, void** grads, void** exp_avgs, void** exp_avg_sqs, void** weights, int n,
                             double lr, double beta1, double beta2, double weight_decay, double eps, double step) {
  LC_TRY({
    if (n <= 0) return 0;
    std::vector<at::Tensor> p, g, m, v;
    p.reserve(n);
    g.reserve(n);
    m.reserve(n);
    v.reserve(n);
    for (int i = 0; i < n; i++) {
      p.push_back(lc::T(masters[i]));
      const at::Tensor& grad = lc::T(grads[i]);
      g.push_back(grad.scalar_type() == at::kFloat ? grad : grad.to(at::kFloat));
      m.push_back(lc::T(exp_avgs[i]));
      v.push_back(lc::T(exp_avg_sqs[i]));
    }
    at::Tensor step_tensor = at::full({}, step, p[0].options().dtype(at::kFloat));
    std::vector<at::Tensor> steps(n, step_tensor);
    std::vector<at::Tensor> no_max;
    at::_fused_adamw_(p, g, m, v, no_max, steps, lr, beta1, beta2, weight_decay, eps, /*amsgrad=*/false,
                      /*maximize=*/false);
    if (weights != nullptr) {
      for (int i = 0; i < n; i++) {
        if (weights[i] != nullptr) lc::T(weights[i]).copy_(p[i]);
      }
    }
  })
}
