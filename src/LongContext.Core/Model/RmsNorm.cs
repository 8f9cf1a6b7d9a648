using LongContext.Core.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LongContext.Core.Model;

/// <summary>HF LlamaRMSNorm: normalise in fp32, cast back, then scale (the order matters for bf16 parity).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly double eps;
    public Parameter weight;

    public RmsNorm(long size, double eps, ScalarType dtype, Device device) : base("RMSNorm")
    {
        this.eps = eps;
        weight = new Parameter(ones(size, dtype: dtype, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // On CUDA ATen's fused kernel: one pass instead of seven. It normalises in fp32 like HF but rounds to the
        // input dtype after the weight multiply rather than before it: bf16 results differ by one rounding step.
        if (x.device_type == DeviceType.CUDA && NativeAddon.IsAvailable)
        {
            NativeAddon.Check(NativeAddon.lc_rms_norm(x.Handle, weight.Handle, eps, out var output), "rms_norm");
            return NativeAddon.Adopt(output);
        }
        using var scope = NewDisposeScope();
        var h = x.to(ScalarType.Float32);
        h = h * rsqrt(h.pow(2).mean([-1], keepdim: true) + eps);
        return (weight * h.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
