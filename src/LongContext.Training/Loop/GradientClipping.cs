using static TorchSharp.torch;

namespace LongContext.Training.Loop;

/// <summary>torch.nn.utils.clip_grad_norm_ over all gradients together, with the norm computed in float32.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Returns the global L2 norm of the gradients before clipping. When <paramref name="maxNorm"/> &gt; 0 and the
    /// norm exceeds it, every gradient is scaled by maxNorm / (norm + 1e-6), as torch does. Parameters without a
    /// gradient are skipped; with none at all the norm is 0.
    /// </summary>
    /// <param name="globalNorm">Turns the norm of these gradients (fp32 scalar on their device) into the norm over
    /// every process's gradients (<see cref="Topology.ITrainingTopology.GlobalGradNorm"/>); null: these are all.</param>
    public static double ClipGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm, Func<Tensor, Tensor>? globalNorm = null)
    {
        // Each .grad read is a new wrapper that would keep its gradient alive until the GC finalizes it.
        using var scope = NewDisposeScope();
        return ClipGradients([.. parameters.Select(p => p.grad).OfType<Tensor>()], maxNorm, globalNorm);
    }

    /// <summary>As <see cref="ClipGlobalNorm"/>, over gradient tensors themselves (e.g. a sharded optimizer's gradient shards).</summary>
    public static double ClipGradients(IReadOnlyList<Tensor> grads, double maxNorm, Func<Tensor, Tensor>? globalNorm = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        if (grads.Count == 0 && globalNorm is null) return 0.0;
        var local = grads.Count == 0
            ? zeros([], ScalarType.Float32)
            : linalg.vector_norm(stack(grads.Select(g => linalg.vector_norm(g.to(ScalarType.Float32))).ToArray()));
        var total = globalNorm is null ? local : globalNorm(local);
        double totalHost = total.to(CPU).item<float>();
        if (maxNorm > 0)
        {
            var coef = (maxNorm / (total + 1e-6)).clamp_max(1.0);
            if (totalHost + 1e-6 > maxNorm)
            {
                foreach (var g in grads) g.mul_(coef.to(g.dtype));
            }
        }
        return totalHost;
    }
}
