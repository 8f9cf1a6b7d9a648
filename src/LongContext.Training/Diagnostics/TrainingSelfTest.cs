using LongContext.Core.Diagnostics;
using LongContext.Training.Optim;
using static TorchSharp.torch;

namespace LongContext.Training.Diagnostics;

/// <summary>Self-checks of the training path that `longctx selftest` adds to the engine's.</summary>
public static class TrainingSelfTest
{
    /// <summary>Three AdamW steps with the fused kernel (CUDA) against the element-wise path on the same values.</summary>
    public static IEnumerable<SelfTestCheck> Checks(Device device)
    {
        var fusedParams = MakeParams(device);
        var plainParams = fusedParams.Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value.detach().clone().requires_grad_(true))).ToList();
        using var fused = new AdamW(fusedParams);
        using var plain = new AdamW(plainParams) { AllowFusedKernel = false };
        manual_seed(11);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < fusedParams.Count; i++)
            {
                var g = randn(fusedParams[i].Value.shape).to(fusedParams[i].Value.dtype).to(device);
                fusedParams[i].Value.grad = g.clone();
                plainParams[i].Value.grad = g.clone();
            }
            fused.Step(1e-3);
            plain.Step(1e-3);
        }
        double worst = 0;
        for (int i = 0; i < fusedParams.Count; i++)
        {
            using var scope = NewDisposeScope();
            var a = fusedParams[i].Value.detach().to(ScalarType.Float64).cpu();
            var b = plainParams[i].Value.detach().to(ScalarType.Float64).cpu();
            worst = Math.Max(worst, (a - b).norm().item<double>() / Math.Max(b.norm().item<double>(), 1e-30));
        }
        // bf16 weights are the rounded fp32 masters, so they agree to a rounding step; fp32 ones to ~1e-6.
        yield return new SelfTestCheck($"adamw.{(fused.UsesFusedKernel ? "fused" : "element-wise")}[vs element-wise, 3 steps]",
            worst <= 1e-2, worst, 1e-2, "bf16 (with fp32 masters) and fp32 parameters, decay and no-decay groups");
    }

    static List<KeyValuePair<string, Tensor>> MakeParams(Device device)
    {
        manual_seed(5);
        return
        [
            new("model.layers.0.mlp.up_proj.weight", randn(64, 48).to(ScalarType.BFloat16).to(device).requires_grad_(true)),
            new("model.layers.0.input_layernorm.weight", ones(48).to(ScalarType.BFloat16).to(device).requires_grad_(true)),
            new("lm_head.weight", randn(32, 48).to(device).requires_grad_(true)),
        ];
    }
}
