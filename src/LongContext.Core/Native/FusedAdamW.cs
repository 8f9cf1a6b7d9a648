using static TorchSharp.torch;

namespace LongContext.Core.Native;

/// <summary>
/// ATen's multi-tensor AdamW kernel (torch.optim.AdamW(fused=True)) through the add-on: one launch updates every
/// fp32 master, moment and second moment of a parameter group, then the model's lower-precision copies are set.
/// CUDA only; callers keep an element-wise fallback.
/// </summary>
public static class FusedAdamW
{
    public static bool IsAvailable(Device device) => device.type == TorchSharp.DeviceType.CUDA && NativeAddon.IsAvailable;

    /// <param name="weights">Per entry, the model parameter to overwrite with the updated master, or null.</param>
    /// <param name="step">1-based step for the bias corrections.</param>
    public static unsafe void Step(IReadOnlyList<Tensor> masters, IReadOnlyList<Tensor> grads, IReadOnlyList<Tensor> expAvgs,
        IReadOnlyList<Tensor> expAvgSqs, IReadOnlyList<Tensor?> weights, double lr, double beta1, double beta2, double weightDecay, double eps, long step)
    {
        int n = masters.Count;
        if (grads.Count != n || expAvgs.Count != n || expAvgSqs.Count != n || weights.Count != n)
            throw new ArgumentException("fused AdamW: every list must have one entry per parameter");
        if (n == 0) return;
        NativeAddon.Require("fused AdamW");
        var handles = new IntPtr[5 * n];
        for (int i = 0; i < n; i++)
        {
            handles[i] = masters[i].Handle;
            handles[n + i] = grads[i].Handle;
            handles[2 * n + i] = expAvgs[i].Handle;
            handles[3 * n + i] = expAvgSqs[i].Handle;
            handles[4 * n + i] = weights[i]?.Handle ?? IntPtr.Zero;
        }
        fixed (IntPtr* h = handles)
            NativeAddon.Check(NativeAddon.lc_fused_adamw(h, h + n, h + 2 * n, h + 3 * n, h + 4 * n, n, lr, beta1, beta2, weightDecay, eps, step), "fused AdamW");
    }
}
